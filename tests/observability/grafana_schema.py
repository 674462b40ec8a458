"""What Grafana's file provisioning needs of a dashboard, as pydantic models: the fields it reads (uid, title,
schemaVersion, panels with their type, grid position, datasource and queries, template variables), with the
constraints Grafana enforces (a uid of at most 40 characters of [A-Za-z0-9_-], a grid 24 columns wide, unique
panel ids) — and a provisioning file's shape. A dashboard Grafana would reject fails to validate here."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Panel types of Grafana 11's core plugins that these dashboards may use.
PanelType = Literal["timeseries", "stat", "gauge", "bargauge", "table", "text", "row", "heatmap", "piechart"]


class Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class DataSourceRef(Model):
    type: Literal["prometheus"]
    uid: str = Field(min_length=1)


class GridPos(Model):
    h: int = Field(ge=1)
    w: int = Field(ge=1, le=24)
    x: int = Field(ge=0, le=23)
    y: int = Field(ge=0)

    @model_validator(mode="after")
    def _inside_the_grid(self) -> GridPos:
        if self.x + self.w > 24:
            raise ValueError(f"panel spans past column 24 (x={self.x}, w={self.w})")
        return self


class Target(Model):
    refId: str = Field(min_length=1)
    expr: str = Field(min_length=1)
    datasource: DataSourceRef | None = None
    legendFormat: str | None = None


class Panel(Model):
    id: int = Field(ge=1)
    type: PanelType
    title: str = Field(min_length=1)
    gridPos: GridPos
    datasource: DataSourceRef | None = None
    targets: list[Target] = []
    panels: list[Any] = []

    @model_validator(mode="after")
    def _queries(self) -> Panel:
        if self.type != "row" and (self.datasource is None or not self.targets):
            raise ValueError(f"panel {self.title!r} has no datasource or no query")
        if len({t.refId for t in self.targets}) != len(self.targets):
            raise ValueError(f"panel {self.title!r} repeats a refId")
        return self


class Variable(Model):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: Literal["query", "custom", "constant", "datasource", "interval", "textbox"]


class Templating(Model):
    list: list[Variable]


class Dashboard(Model):
    uid: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    title: str = Field(min_length=1)
    schemaVersion: int = Field(ge=36)
    panels: list[Panel]
    templating: Templating = Templating(list=[])
    time: dict[str, str]
    id: None = None  # provisioned dashboards must not carry a database id

    @model_validator(mode="after")
    def _unique_panel_ids(self) -> Dashboard:
        ids = [p.id for p in self.panels]
        if len(set(ids)) != len(ids):
            raise ValueError("panel ids repeat")
        return self


class DashboardProvider(Model):
    name: str
    type: Literal["file"]
    options: dict[str, Any]


class DashboardProvisioning(Model):
    apiVersion: Literal[1]
    providers: list[DashboardProvider] = Field(min_length=1)


class DataSource(Model):
    name: str
    uid: str
    type: str
    url: str
    access: Literal["proxy", "direct"]


class DataSourceProvisioning(Model):
    apiVersion: Literal[1]
    datasources: list[DataSource] = Field(min_length=1)
