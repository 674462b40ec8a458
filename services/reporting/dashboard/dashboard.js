/* Reporting dashboard. Vanilla JS and hand-drawn inline SVG so the page works with no internet access and
   no build step: the only requests go to the same-origin reporting API, each with the X-API-Key header. */
(function () {
  "use strict";

  var KEY_STORAGE = "reporting.dashboard.apiKey";
  var LANG_STORAGE = "reporting.dashboard.lang";
  var API_BASE = "../v1/"; // relative, so the page also works behind a path prefix
  var PERIOD_DAYS = 30;
  var OVERDUE_PAGE_SIZE = 20;

  // Display thresholds (the API has no targets): a rate on the wrong side of one is drawn red.
  var TARGETS = {
    timeliness_rate: { min: 0.9 },
    ack_in_time_rate: { min: 0.95 },
    callback_coverage: { min: 0.9 },
    satisfaction_rate: { min: 0.85 },
    reopen_rate: { max: 0.05 }
  };

  var COLORS = {
    received: "#a9c1de",
    receivedText: "#3f6796",
    resolved: "#1f7a70",
    spike: "#d14343",
    grid: "#e8ebf0",
    axis: "#b8c0cb",
    bar: "#4f7cac",
    track: "#edf0f4",
    good: "#2e8b57",
    bad: "#d14343"
  };

  // Every label on the page, in both languages. {name} placeholders are filled by t().
  var I18N = {
    zh: {
      page_title: "投诉运行看板",
      title: "城市公用事业投诉 · 运行看板",
      subtitle: "统计期 {from} 至 {to}（{days} 天）· 数据截至 {today} · 时区 {tz}",
      from: "开始",
      to: "结束",
      apply: "查询",
      loading: "加载中…",
      kpi_received: "受理量",
      kpi_resolved: "办结量",
      kpi_timeliness_rate: "按时办结率",
      kpi_ack_in_time_rate: "按时响应率",
      kpi_callback_coverage: "回访覆盖率",
      kpi_message_reach_rate: "消息触达率",
      kpi_satisfaction_rate: "满意率",
      kpi_reopen_rate: "重开率",
      kpi_handling_median_hours: "处理时长中位数",
      kpi_handling_p90_hours: "处理时长 P90",
      sub_received: "日均 {avg} 件",
      sub_resolved: "占受理 {pct}",
      sub_timeliness: "按时办结 {a} 件",
      sub_ack: "已响应 {a} 件",
      sub_callback: "已回访 {a} 件",
      sub_message_reach: "送达 {a} / {n} 件",
      sub_satisfaction: "满意 {a} 件",
      sub_reopen: "重开 {a} 件",
      sub_median: "受理至办结",
      sub_p90: "90% 案件在此时长内",
      target_min: "目标 ≥ {v}",
      target_max: "目标 ≤ {v}",
      unit_hours: "小时",
      trend_title: "每日受理与办结",
      trend_hint: "柱：受理量　线：办结量　红柱：异常高峰（高于均值 2 个标准差）",
      legend_received: "受理（合计 {n}）",
      legend_resolved: "办结（合计 {n}）",
      legend_spike: "异常高峰",
      dept_title: "按部门",
      cat_title: "按类别",
      breakdown_hint: "条形为受理量；右列为按时办结率，低于 {v} 标红",
      col_received: "受理量（占比）",
      col_timeliness: "按时办结率",
      inc_title: "处理中的故障事件",
      inc_hint: "一处故障一张工单，来电均关联至此 · 共 {n} 起",
      out_title: "生效中的停供公告",
      out_hint: "公告区域内来电直接告知，不再派单 · 共 {n} 条",
      th_incident: "事件（设施）",
      th_family: "类型",
      th_households: "影响户数",
      th_complaints: "关联来电",
      th_eta: "预计恢复",
      th_age: "已持续",
      th_sla: "时限",
      th_notice: "公告（区域）",
      th_kind: "性质",
      th_starts: "开始",
      no_incidents: "没有处理中的故障事件",
      no_outages: "没有生效中的停供公告",
      hot_asset_title: "按设施",
      th_asset: "设施",
      no_asset_hotspots: "近期没有按设施的热点",
      hot_title: "热点区域",
      hot_hint: "近 {h} 小时与前 {d} 天同时段均值对比",
      th_district: "区域",
      th_category: "类别",
      th_count: "近 {h} 小时",
      th_baseline: "基线",
      th_ratio: "倍数",
      th_flag: "状态",
      surge: "激增",
      steady: "平稳",
      repeat_title: "重复投诉户",
      repeat_hint: "近 30 天投诉 3 次及以上",
      th_account: "户号",
      th_cases: "投诉次数",
      th_last: "最近一次",
      overdue_title: "超时未办结",
      overdue_hint: "共 {n} 件",
      th_case: "案件（部门 · 类别）",
      th_severity: "紧急程度",
      th_status: "状态",
      th_resolve_by: "应办结时间",
      th_overdue: "已超时",
      prev: "上一页",
      next: "下一页",
      page_of: "第 {p} / {n} 页",
      no_data: "本期暂无数据",
      no_hotspots: "近期没有热点",
      no_overdue: "没有超时案件",
      no_repeat: "没有重复投诉户",
      dur_min: "{m} 分钟",
      dur_hour: "{h} 小时 {m} 分",
      dur_day: "{d} 天 {h} 小时",
      key_title: "需要 API 密钥",
      key_hint: "请输入报表服务的 API 密钥。密钥只保存在当前浏览器标签页中。",
      key_placeholder: "API 密钥",
      key_submit: "进入",
      err_http: "数据加载失败：{path} 返回 HTTP {status}{detail}",
      err_network: "无法连接报表服务（{path}）：{msg}",
      err_data: "数据格式不正确（{path}）：{msg}",
      err_auth: "API 密钥无效或无权访问（HTTP {status}），请重新输入。",
      err_period: "开始日期不能晚于结束日期。",
      footer: "数据来源：报表服务 API · 时间均按 {tz} 显示 · 每个请求都携带 API 密钥"
    },
    en: {
      page_title: "Complaints dashboard",
      title: "City Utility Complaints · Operations Dashboard",
      subtitle: "Period {from} to {to} ({days} days) · data as of {today} · time zone {tz}",
      from: "From",
      to: "To",
      apply: "Apply",
      loading: "Loading…",
      kpi_received: "Received",
      kpi_resolved: "Resolved",
      kpi_timeliness_rate: "Resolved in time",
      kpi_ack_in_time_rate: "Ack. in time",
      kpi_callback_coverage: "Callback coverage",
      kpi_message_reach_rate: "Reached by message",
      kpi_satisfaction_rate: "Satisfaction",
      kpi_reopen_rate: "Reopen rate",
      kpi_handling_median_hours: "Median handling",
      kpi_handling_p90_hours: "P90 handling",
      sub_received: "{avg} per day",
      sub_resolved: "{pct} of received",
      sub_timeliness: "{a} on time",
      sub_ack: "{a} acknowledged",
      sub_callback: "{a} reached",
      sub_message_reach: "{a} of {n} cases",
      sub_satisfaction: "{a} satisfied",
      sub_reopen: "{a} reopened",
      sub_median: "received to resolved",
      sub_p90: "90% of cases within",
      target_min: "target ≥ {v}",
      target_max: "target ≤ {v}",
      unit_hours: "h",
      trend_title: "Daily received and resolved",
      trend_hint: "Bars: received · line: resolved · red bars: spikes (above mean + 2 SD)",
      legend_received: "Received (total {n})",
      legend_resolved: "Resolved (total {n})",
      legend_spike: "Spike",
      dept_title: "By department",
      cat_title: "By category",
      breakdown_hint: "Bars: received; right: resolved-in-time rate, red below {v}",
      col_received: "Received (share)",
      col_timeliness: "In-time rate",
      inc_title: "Open incidents",
      inc_hint: "One fault, one work order, every caller linked · {n} open",
      out_title: "Active outage notices",
      out_hint: "Callers in the area are told at once, no crew sent · {n} active",
      th_incident: "Incident (asset)",
      th_family: "Type",
      th_households: "Households",
      th_complaints: "Calls linked",
      th_eta: "ETA",
      th_age: "Open for",
      th_sla: "Deadline",
      th_notice: "Notice (area)",
      th_kind: "Kind",
      th_starts: "Started",
      no_incidents: "No open incidents",
      no_outages: "No active outage notices",
      hot_asset_title: "By asset",
      th_asset: "Asset",
      no_asset_hotspots: "No asset hotspots right now",
      hot_title: "Hotspots",
      hot_hint: "Last {h} hours vs. the same window over the previous {d} days",
      th_district: "District",
      th_category: "Category",
      th_count: "Last {h} h",
      th_baseline: "Baseline",
      th_ratio: "Ratio",
      th_flag: "Status",
      surge: "Surge",
      steady: "Steady",
      repeat_title: "Repeat complainants",
      repeat_hint: "3 or more cases in the last 30 days",
      th_account: "Account",
      th_cases: "Cases",
      th_last: "Latest",
      overdue_title: "Overdue cases",
      overdue_hint: "{n} in total",
      th_case: "Case (department · category)",
      th_severity: "Severity",
      th_status: "Status",
      th_resolve_by: "Due",
      th_overdue: "Overdue by",
      prev: "Previous",
      next: "Next",
      page_of: "Page {p} of {n}",
      no_data: "No data for this period",
      no_hotspots: "No hotspots right now",
      no_overdue: "Nothing is overdue",
      no_repeat: "No repeat complainants",
      dur_min: "{m} min",
      dur_hour: "{h} h {m} min",
      dur_day: "{d} d {h} h",
      key_title: "API key required",
      key_hint: "Enter the reporting service's API key. It is kept only in this browser tab.",
      key_placeholder: "API key",
      key_submit: "Open",
      err_http: "Could not load data: {path} answered HTTP {status}{detail}",
      err_network: "Cannot reach the reporting service ({path}): {msg}",
      err_data: "Unexpected data from {path}: {msg}",
      err_auth: "The API key was rejected (HTTP {status}). Please enter it again.",
      err_period: "The start date must not be after the end date.",
      footer: "Source: reporting service API · times shown in {tz} · every request carries the API key"
    }
  };

  // Human labels of the codes the API returns: [zh, en]. Unknown codes are shown as they are.
  var CODES = {
    department: {
      repair: ["维修", "Repair"],
      billing: ["营业收费", "Billing"],
      customer_service: ["客户服务", "Customer service"],
      // received, not routed yet (in the supervisors' triage queue): reporting's cohort until its first routing
      unrouted: ["待分派", "Not yet routed"]
    },
    category: {
      heating_temperature: ["室温不达标", "Heating below standard"],
      equipment_fault: ["设备故障", "Equipment fault"],
      outage: ["停电停热停水停气", "Supply outage"],
      safety_hazard: ["安全隐患", "Safety hazard"],
      billing: ["费用争议", "Billing dispute"],
      service_attitude: ["服务态度", "Service attitude"],
      consultation: ["咨询", "Enquiry"],
      other: ["其他", "Other"],
      unclassified: ["待分类", "Not yet classified"]
    },
    severity: {
      emergency: ["紧急", "Emergency"],
      serious: ["严重", "Serious"],
      normal: ["一般", "Normal"]
    },
    status: {
      assigned: ["已派单", "Assigned"],
      acknowledged: ["已响应", "Acknowledged"],
      in_progress: ["处理中", "In progress"],
      resolved: ["已办结", "Resolved"],
      returned: ["已退回", "Returned"],
      reassigned: ["已改派", "Reassigned"]
    },
    family: {
      no_heat: ["停热", "No heat"],
      power_outage: ["停电", "Power outage"],
      water_outage: ["停水", "Water outage"],
      gas_outage: ["停气", "Gas outage"]
    },
    asset_type: {
      heat_exchange_station: ["换热站", "Heat-exchange station"],
      feeder: ["馈线", "Feeder"],
      water_main: ["供水干管", "Water main"],
      gas_line: ["燃气管线", "Gas line"],
      building: ["楼栋", "Building"]
    },
    outage_kind: {
      planned: ["计划停供", "Planned"],
      unplanned: ["故障停供", "Unplanned"]
    },
    sla: {
      on_track: ["时限内", "On track"],
      overdue: ["已超时", "Overdue"],
      met: ["按时", "Met"],
      breached: ["超时", "Breached"],
      unknown: ["—", "—"]
    },
    district: {
      heping: ["和平区", "Heping"],
      shenhe: ["沈河区", "Shenhe"],
      dadong: ["大东区", "Dadong"],
      huanggu: ["皇姑区", "Huanggu"],
      tiexi: ["铁西区", "Tiexi"],
      hunnan: ["浑南区", "Hunnan"],
      yuhong: ["于洪区", "Yuhong"],
      sujiatun: ["苏家屯区", "Sujiatun"],
      shenbei: ["沈北新区", "Shenbei"],
      liaozhong: ["辽中区", "Liaozhong"]
    }
  };

  var state = {
    lang: "zh",
    key: null,
    meta: null,
    from: null,
    to: null,
    data: null,
    overduePage: 1,
    loadSeq: 0
  };

  // ---------- small helpers ----------

  function $(id) {
    return document.getElementById(id);
  }

  function t(name, vars) {
    var text = (I18N[state.lang] && I18N[state.lang][name]) || I18N.zh[name] || name;
    return text.replace(/\{(\w+)\}/g, function (whole, key) {
      return vars && vars[key] !== undefined ? String(vars[key]) : whole;
    });
  }

  function label(kind, code) {
    var entry = CODES[kind] && CODES[kind][code];
    if (!entry) return code === null || code === undefined ? "—" : String(code);
    return state.lang === "en" ? entry[1] : entry[0];
  }

  function esc(value) {
    return String(value)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  function isNum(value) {
    return typeof value === "number" && isFinite(value);
  }

  function fmtInt(value) {
    if (!isNum(value)) return "—";
    var sign = value < 0 ? "-" : "";
    var digits = String(Math.round(Math.abs(value)));
    return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function fmtPct(rate) {
    return isNum(rate) ? (rate * 100).toFixed(1) + "%" : "—";
  }

  function fmtPctShort(rate) {
    return isNum(rate) ? Math.round(rate * 100) + "%" : "—";
  }

  function fmtDec(value, digits) {
    return isNum(value) ? value.toFixed(digits) : "—";
  }

  function fmtDuration(minutes) {
    if (!isNum(minutes)) return "—";
    var m = Math.max(0, Math.round(minutes));
    if (m < 60) return t("dur_min", { m: m });
    if (m < 1440) return t("dur_hour", { h: Math.floor(m / 60), m: m % 60 });
    return t("dur_day", { d: Math.floor(m / 1440), h: Math.floor((m % 1440) / 60) });
  }

  // Timestamps are shown in the service's time zone (from /v1/meta), whatever the browser's is.
  function fmtDateTime(iso) {
    if (!iso) return "—";
    var date = new Date(iso);
    if (isNaN(date.getTime())) return String(iso);
    try {
      var parts = {};
      new Intl.DateTimeFormat("en-GB", {
        timeZone: (state.meta && state.meta.timezone) || "Asia/Shanghai",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23"
      })
        .formatToParts(date)
        .forEach(function (part) {
          parts[part.type] = part.value;
        });
      return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
    } catch (e) {
      return date.toISOString().slice(0, 16).replace("T", " ");
    }
  }

  // Calendar dates as "YYYY-MM-DD" strings, computed in UTC so the browser's zone never shifts a day.
  function parseDay(day) {
    var p = day.split("-");
    return Date.UTC(+p[0], +p[1] - 1, +p[2]);
  }

  function formatDay(ms) {
    return new Date(ms).toISOString().slice(0, 10);
  }

  function addDays(day, n) {
    return formatDay(parseDay(day) + n * 86400000);
  }

  function dayRange(from, to) {
    var days = [];
    for (var ms = parseDay(from), end = parseDay(to); ms <= end && days.length < 1000; ms += 86400000) {
      days.push(formatDay(ms));
    }
    return days;
  }

  function isDay(value) {
    return typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value);
  }

  // A 0-based axis with 4–6 round ticks (1, 2, 2.5, 5 × 10^n).
  function niceScale(max, count) {
    count = count || 5;
    if (!(max > 0)) max = 1;
    var raw = max / count;
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 2.5, 5, 10];
    var step = mag;
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * mag >= raw) {
        step = steps[i] * mag;
        break;
      }
    }
    if (step < 1) step = 1;
    var top = Math.ceil(max / step) * step;
    var ticks = [];
    for (var v = 0; v <= top + step / 2; v += step) ticks.push(v);
    return { max: top, ticks: ticks };
  }

  function targetOf(metric) {
    return TARGETS[metric] || null;
  }

  function breaches(metric, value) {
    var target = targetOf(metric);
    if (!target || !isNum(value)) return false;
    if (target.min !== undefined) return value < target.min;
    return value > target.max;
  }

  function setRendered(value) {
    document.body.dataset.rendered = value;
  }

  // ---------- API ----------

  function ApiError(kind, path, status, message) {
    this.kind = kind;
    this.path = path;
    this.status = status;
    this.message = message;
  }

  function apiGet(path, params) {
    var query = params
      ? "?" +
        Object.keys(params)
          .map(function (k) {
            return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
          })
          .join("&")
      : "";
    var shown = "/v1/" + path;
    return fetch(API_BASE + path + query, {
      headers: { "X-API-Key": state.key, Accept: "application/json" },
      cache: "no-store",
      credentials: "same-origin"
    })
      .catch(function (err) {
        throw new ApiError("network", shown, 0, (err && err.message) || String(err));
      })
      .then(function (response) {
        if (!response.ok) {
          return response.text().then(function (body) {
            var detail = "";
            try {
              var parsed = JSON.parse(body);
              if (parsed && parsed.detail) {
                detail = typeof parsed.detail === "string" ? parsed.detail : JSON.stringify(parsed.detail);
              }
            } catch (e) {
              detail = body.slice(0, 160);
            }
            throw new ApiError("http", shown, response.status, detail);
          });
        }
        return response.json().catch(function (err) {
          throw new ApiError("data", shown, response.status, err.message);
        });
      });
  }

  function errorText(err) {
    if (err instanceof ApiError) {
      if (err.kind === "http" && (err.status === 401 || err.status === 403)) return t("err_auth", { status: err.status });
      if (err.kind === "http") {
        return t("err_http", { path: err.path, status: err.status, detail: err.message ? " — " + err.message : "" });
      }
      if (err.kind === "network") return t("err_network", { path: err.path, msg: err.message });
      return t("err_data", { path: err.path, msg: err.message });
    }
    return String((err && err.message) || err);
  }

  function showError(err) {
    var box = $("error");
    box.textContent = errorText(err);
    box.hidden = false;
    setRendered("error");
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      sessionStorage.removeItem(KEY_STORAGE);
      state.key = null;
      $("content").hidden = true;
      $("key-panel").hidden = false;
    }
  }

  function clearError() {
    $("error").hidden = true;
    $("error").textContent = "";
  }

  // ---------- loading ----------

  function kpis(groupBy) {
    return apiGet("kpis", { from: state.from, to: state.to, group_by: groupBy }).then(function (body) {
      if (!body || !Array.isArray(body.rows) || !body.totals) {
        throw new ApiError("data", "/v1/kpis?group_by=" + groupBy, 200, "rows/totals missing");
      }
      return body;
    });
  }

  function optional(promise) {
    // The repeat-complainants, incident and outage panels are optional: a backend without them (404) just
    // hides the panel.
    return promise.catch(function (err) {
      if (err instanceof ApiError && err.kind === "http" && err.status === 404) return null;
      throw err;
    });
  }

  function load() {
    var seq = ++state.loadSeq;
    setRendered("loading");
    clearError();
    var metaReady = state.meta ? Promise.resolve(state.meta) : apiGet("meta");
    return metaReady
      .then(function (meta) {
        if (!meta || !isDay(meta.today)) throw new ApiError("data", "/v1/meta", 200, "today missing");
        state.meta = meta;
        if (!state.to) state.to = meta.today;
        if (!state.from) state.from = addDays(state.to, -(PERIOD_DAYS - 1));
        $("from").value = state.from;
        $("to").value = state.to;
        $("from").max = meta.today;
        $("to").max = meta.today;
        return Promise.all([
          kpis("department"),
          kpis("category"),
          kpis("day"),
          apiGet("hotspots", { window_hours: 24, baseline_days: 7 }),
          apiGet("overdue", { page: state.overduePage, page_size: OVERDUE_PAGE_SIZE }),
          optional(apiGet("repeat-complainants", { days: 30, min_cases: 3 })),
          optional(apiGet("reports/incidents", { status: "open", page_size: 50 })),
          optional(apiGet("reports/outages", { active: "true", page_size: 50 }))
        ]);
      })
      .then(function (results) {
        if (seq !== state.loadSeq) return; // a newer load started meanwhile
        state.data = {
          department: results[0],
          category: results[1],
          day: results[2],
          hotspots: results[3],
          overdue: results[4],
          repeat: results[5],
          incidents: results[6],
          outages: results[7]
        };
        renderAll();
        setRendered("true");
      })
      .catch(function (err) {
        if (seq !== state.loadSeq) return;
        showError(err);
      });
  }

  function loadOverduePage(page) {
    setRendered("loading");
    apiGet("overdue", { page: page, page_size: OVERDUE_PAGE_SIZE })
      .then(function (body) {
        state.overduePage = page;
        state.data.overdue = body;
        renderOverdue();
        setRendered("true");
      })
      .catch(showError);
  }

  // ---------- rendering ----------

  function applyStaticText() {
    document.documentElement.lang = state.lang === "en" ? "en" : "zh-CN";
    document.title = t("page_title");
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (el) {
      el.textContent = t(el.getAttribute("data-i18n"));
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n-placeholder]"), function (el) {
      el.setAttribute("placeholder", t(el.getAttribute("data-i18n-placeholder")));
    });
    Array.prototype.forEach.call(document.querySelectorAll(".lang-toggle button"), function (btn) {
      var active = btn.getAttribute("data-lang") === state.lang;
      btn.classList.toggle("active", active);
      btn.setAttribute("aria-pressed", active ? "true" : "false");
    });
    var tz = (state.meta && state.meta.timezone) || "Asia/Shanghai";
    $("footer").textContent = t("footer", { tz: tz });
    var hint = t("breakdown_hint", { v: fmtPctShort(TARGETS.timeliness_rate.min) });
    $("dept-hint").textContent = hint;
    $("cat-hint").textContent = hint;
    if (state.from && state.to && state.meta) {
      $("subtitle").textContent = t("subtitle", {
        from: state.from,
        to: state.to,
        days: dayRange(state.from, state.to).length,
        today: state.meta.today,
        tz: tz
      });
    }
  }

  function renderAll() {
    $("key-panel").hidden = true;
    $("content").hidden = false;
    applyStaticText();
    renderTiles();
    renderCharts();
    renderIncidents();
    renderOutages();
    renderHotspots();
    renderAssetHotspots();
    renderOverdue();
    renderRepeat();
  }

  function renderCharts() {
    if (!state.data) return;
    renderTrend();
    renderBreakdown("department");
    renderBreakdown("category");
  }

  function renderTiles() {
    var tot = state.data.department.totals;
    var days = dayRange(state.from, state.to).length || 1;
    var resolvedShare = isNum(tot.received) && tot.received > 0 && isNum(tot.resolved) ? tot.resolved / tot.received : null;
    var tiles = [
      { name: "received", value: fmtInt(tot.received), sub: t("sub_received", { avg: fmtDec(tot.received / days, 1) }) },
      { name: "resolved", value: fmtInt(tot.resolved), sub: t("sub_resolved", { pct: fmtPct(resolvedShare) }) },
      {
        // over the cases due in the period: open ones past their deadline count against it
        name: "timeliness_rate",
        rate: tot.timeliness_rate,
        sub: t("sub_timeliness", { a: fmtInt(isNum(tot.due) ? tot.due_in_time : tot.resolved_in_time) }),
        ratio: isNum(tot.due) ? [tot.due_in_time, tot.due] : [tot.resolved_in_time, tot.resolved]
      },
      { name: "ack_in_time_rate", rate: tot.ack_in_time_rate, sub: t("sub_ack", { a: fmtInt(tot.acknowledged) }) },
      {
        // callbacks that reached the customer, of those due in the period
        name: "callback_coverage",
        rate: tot.callback_coverage,
        sub: t("sub_callback", { a: fmtInt(isNum(tot.callbacks_due) ? tot.callbacks_completed : tot.callbacks_done) }),
        ratio: isNum(tot.callbacks_due) ? [tot.callbacks_completed, tot.callbacks_due] : [tot.callbacks_done, tot.resolved]
      },
      {
        // customers actually reached: of the cases with a customer message due (not capped), those with one
        // delivered (SMS, WeChat, email); "—" when none was due
        name: "message_reach_rate",
        rate: tot.message_reach_rate,
        sub: t("sub_message_reach", { a: fmtInt(tot.reached_by_message), n: fmtInt(tot.messaged) }),
        ratio: isNum(tot.messaged) ? [tot.reached_by_message, tot.messaged] : null
      },
      {
        name: "satisfaction_rate",
        rate: tot.satisfaction_rate,
        sub: t("sub_satisfaction", { a: fmtInt(tot.satisfied) }),
        // the rate's denominator is the rated callbacks (satisfied + dissatisfied), when the API gives it
        ratio: isNum(tot.dissatisfied) ? [tot.satisfied, tot.satisfied + tot.dissatisfied] : null
      },
      {
        name: "reopen_rate",
        rate: tot.reopen_rate,
        sub: t("sub_reopen", { a: fmtInt(tot.reopened) }),
        ratio: [tot.reopened, tot.resolved]
      },
      { name: "handling_median_hours", hours: tot.handling_median_hours, sub: t("sub_median") },
      { name: "handling_p90_hours", hours: tot.handling_p90_hours, sub: t("sub_p90") }
    ];
    $("tiles").innerHTML = tiles
      .map(function (tile) {
        var cls = "tile";
        var value;
        var raw = "";
        var target = "";
        if ("rate" in tile) {
          raw = isNum(tile.rate) ? String(tile.rate) : "";
          value = esc(fmtPct(tile.rate));
          var goal = targetOf(tile.name);
          if (goal) {
            target = goal.min !== undefined ? t("target_min", { v: fmtPctShort(goal.min) }) : t("target_max", { v: fmtPctShort(goal.max) });
            cls += !isNum(tile.rate) ? " neutral" : breaches(tile.name, tile.rate) ? " bad" : " good";
          }
        } else if ("hours" in tile) {
          raw = isNum(tile.hours) ? String(tile.hours) : "";
          value = isNum(tile.hours)
            ? esc(fmtDec(tile.hours, 1)) + '<span class="unit">' + esc(t("unit_hours")) + "</span>"
            : "—";
          cls += " neutral";
        } else {
          value = esc(tile.value);
        }
        // the counts behind a rate, on hover
        var hover = tile.ratio ? ' title="' + esc(fmtInt(tile.ratio[0]) + " / " + fmtInt(tile.ratio[1])) + '"' : "";
        return (
          '<div class="' + cls + '" data-kpi="' + esc(tile.name) + '" data-value="' + esc(raw) + '"' + hover + ">" +
          '<div class="tile-label">' + esc(t("kpi_" + tile.name)) + "</div>" +
          '<div class="tile-value">' + value + "</div>" +
          '<div class="tile-sub">' + esc(tile.sub) + "</div>" +
          (target ? '<div class="tile-target">' + esc(target) + "</div>" : '<div class="tile-target">&nbsp;</div>') +
          "</div>"
        );
      })
      .join("");
  }

  function chartWidth(container) {
    return Math.max(320, Math.floor(container.clientWidth || 800));
  }

  function svgOpen(chart, points, width, height, title) {
    // Built as markup: the HTML parser puts <svg> in the SVG namespace, so no namespace URL is needed here.
    return (
      '<svg data-chart="' + chart + '" data-points="' + points + '" width="' + width + '" height="' + height +
      '" viewBox="0 0 ' + width + " " + height + '" role="img" aria-label="' + esc(title) + '">'
    );
  }

  function renderTrend() {
    var box = $("trend-chart");
    var width = chartWidth(box);
    var height = 300;
    var m = { l: 48, r: 18, t: 40, b: 40 };
    var byDay = {};
    state.data.day.rows.forEach(function (row) {
      byDay[row.key] = row;
    });
    // Days without complaints are missing from the API's rows; they are drawn as zero, not skipped.
    var points = dayRange(state.from, state.to).map(function (day) {
      var row = byDay[day] || {};
      return { day: day, received: isNum(row.received) ? row.received : 0, resolved: isNum(row.resolved) ? row.resolved : 0 };
    });
    var n = points.length;
    var iw = width - m.l - m.r;
    var ih = height - m.t - m.b;
    var max = 0;
    var sumReceived = 0;
    var sumResolved = 0;
    points.forEach(function (p) {
      max = Math.max(max, p.received, p.resolved);
      sumReceived += p.received;
      sumResolved += p.resolved;
    });
    var mean = n ? sumReceived / n : 0;
    var variance = 0;
    points.forEach(function (p) {
      variance += (p.received - mean) * (p.received - mean);
    });
    var sd = n ? Math.sqrt(variance / n) : 0;
    var scale = niceScale(max);
    var band = iw / Math.max(1, n);
    var barW = Math.max(1.5, Math.min(28, band * 0.64));
    function x(i) {
      return m.l + band * i + band / 2;
    }
    function y(v) {
      return m.t + ih - (v / scale.max) * ih;
    }
    var out = [svgOpen("trend", n, width, height, t("trend_title"))];
    // grid and y axis
    scale.ticks.forEach(function (v) {
      var yy = y(v).toFixed(1);
      out.push('<line x1="' + m.l + '" x2="' + (width - m.r) + '" y1="' + yy + '" y2="' + yy + '" stroke="' + COLORS.grid + '"/>');
      out.push('<text class="axis-label" x="' + (m.l - 8) + '" y="' + yy + '" dy="0.35em" text-anchor="end">' + fmtInt(v) + "</text>");
    });
    out.push('<line x1="' + m.l + '" x2="' + (width - m.r) + '" y1="' + y(0) + '" y2="' + y(0) + '" stroke="' + COLORS.axis + '"/>');
    // x labels: as many as fit without overlapping
    var every = Math.max(1, Math.ceil(44 / band));
    var spikes = 0;
    points.forEach(function (p, i) {
      var isSpike = n >= 7 && sd > 0 && p.received > mean + 2 * sd;
      if (isSpike) spikes++;
      var top = y(p.received);
      out.push(
        '<rect x="' + (x(i) - barW / 2).toFixed(1) + '" y="' + top.toFixed(1) + '" width="' + barW.toFixed(1) +
          '" height="' + Math.max(0, y(0) - top).toFixed(1) + '" rx="2" fill="' + (isSpike ? COLORS.spike : COLORS.received) +
          '" data-day="' + p.day + '"><title>' + esc(p.day + " · " + t("kpi_received") + " " + fmtInt(p.received) + " · " +
          t("kpi_resolved") + " " + fmtInt(p.resolved)) + "</title></rect>"
      );
      if (band >= 22) {
        // above the bar, or above the resolved dot when the line passes close to the bar's top
        var dot = y(p.resolved);
        var labelY = dot < top + 6 && dot > top - 18 ? Math.min(top, dot) - 7 : top - 5;
        out.push(
          '<text class="value-label' + (isSpike ? " bad" : "") + '" x="' + x(i).toFixed(1) + '" y="' + labelY.toFixed(1) +
            '" text-anchor="middle">' + fmtInt(p.received) + "</text>"
        );
      }
      if ((n - 1 - i) % every === 0) {
        out.push(
          '<text class="axis-label" x="' + x(i).toFixed(1) + '" y="' + (y(0) + 17) + '" text-anchor="middle">' +
            p.day.slice(5) + "</text>"
        );
      }
    });
    // resolved line on top of the bars
    if (n) {
      var path = points
        .map(function (p, i) {
          return (i ? "L" : "M") + x(i).toFixed(1) + " " + y(p.resolved).toFixed(1);
        })
        .join(" ");
      out.push('<path d="' + path + '" fill="none" stroke="' + COLORS.resolved + '" stroke-width="2.2" stroke-linejoin="round"/>');
      if (band >= 6) {
        points.forEach(function (p, i) {
          out.push(
            '<circle cx="' + x(i).toFixed(1) + '" cy="' + y(p.resolved).toFixed(1) + '" r="3" fill="' + COLORS.resolved +
              '" stroke="#fff" stroke-width="1.2"/>'
          );
        });
      }
      var last = points[n - 1];
      out.push(
        '<text class="value-label resolved" x="' + (x(n - 1) + 6).toFixed(1) + '" y="' +
          (y(last.resolved) + 14).toFixed(1) + '" text-anchor="end">' + fmtInt(last.resolved) + "</text>"
      );
    }
    // legend
    var lx = m.l;
    out.push('<g class="legend" transform="translate(0,14)">');
    out.push('<rect x="' + lx + '" y="-6" width="14" height="12" rx="2" fill="' + COLORS.received + '"/>');
    var recText = t("legend_received", { n: fmtInt(sumReceived) });
    out.push('<text x="' + (lx + 20) + '" y="0" dy="0.35em">' + esc(recText) + "</text>");
    lx += 20 + textWidth(recText, 12) + 22;
    out.push('<line x1="' + lx + '" x2="' + (lx + 18) + '" y1="0" y2="0" stroke="' + COLORS.resolved + '" stroke-width="2.2"/>');
    out.push('<circle cx="' + (lx + 9) + '" cy="0" r="3" fill="' + COLORS.resolved + '" stroke="#fff" stroke-width="1.2"/>');
    var resText = t("legend_resolved", { n: fmtInt(sumResolved) });
    out.push('<text x="' + (lx + 24) + '" y="0" dy="0.35em">' + esc(resText) + "</text>");
    lx += 24 + textWidth(resText, 12) + 22;
    if (spikes) {
      out.push('<rect x="' + lx + '" y="-6" width="14" height="12" rx="2" fill="' + COLORS.spike + '"/>');
      out.push('<text x="' + (lx + 20) + '" y="0" dy="0.35em">' + esc(t("legend_spike")) + "</text>");
    }
    out.push("</g>");
    if (!sumReceived && !sumResolved) {
      out.push('<text class="empty" x="' + width / 2 + '" y="' + (m.t + ih / 2) + '" text-anchor="middle">' + esc(t("no_data")) + "</text>");
    }
    out.push("</svg>");
    box.innerHTML = out.join("");
  }

  // Rough width of a label (CJK glyphs are about 1 em, Latin about 0.58 em), to lay out legends.
  function textWidth(text, size) {
    var w = 0;
    for (var i = 0; i < text.length; i++) w += text.charCodeAt(i) > 0x2e80 ? size : size * 0.58;
    return w;
  }

  function renderBreakdown(kind) {
    var box = $(kind + "-chart");
    var body = state.data[kind];
    var rows = body.rows.slice().sort(function (a, b) {
      return (b.received || 0) - (a.received || 0);
    });
    var total = isNum(body.totals.received) ? body.totals.received : 0;
    var width = chartWidth(box);
    var labelW = 20;
    rows.forEach(function (row) {
      labelW = Math.max(labelW, textWidth(label(kind, row.key), 12.5));
    });
    var rowH = 30;
    var m = { l: Math.ceil(labelW) + 18, r: 150, t: 30, b: 30 };
    var height = m.t + Math.max(1, rows.length) * rowH + m.b;
    var iw = width - m.l - m.r;
    var valueRoom = 76; // the longest bar still leaves room for its "772 · 62%" label before the rate column
    var max = 0;
    rows.forEach(function (row) {
      if (isNum(row.received)) max = Math.max(max, row.received);
    });
    var scale = niceScale(max, 4);
    function x(v) {
      return m.l + (v / scale.max) * (iw - valueRoom);
    }
    var out = [svgOpen(kind, rows.length, width, height, t(kind === "department" ? "dept_title" : "cat_title"))];
    // column heads double as the legend
    out.push('<g class="legend">');
    out.push('<rect x="' + m.l + '" y="8" width="12" height="10" rx="2" fill="' + COLORS.bar + '"/>');
    out.push('<text class="col-head" x="' + (m.l + 18) + '" y="13" dy="0.35em">' + esc(t("col_received")) + "</text>");
    var rateX = width - m.r + 22;
    out.push('<text class="col-head" x="' + rateX + '" y="13" dy="0.35em">' + esc(t("col_timeliness")) + "</text>");
    out.push("</g>");
    var plotBottom = m.t + rows.length * rowH;
    scale.ticks.forEach(function (v) {
      var xx = x(v).toFixed(1);
      out.push('<line x1="' + xx + '" x2="' + xx + '" y1="' + (m.t - 2) + '" y2="' + plotBottom + '" stroke="' + COLORS.grid + '"/>');
      out.push('<text class="axis-label" x="' + xx + '" y="' + (plotBottom + 16) + '" text-anchor="middle">' + fmtInt(v) + "</text>");
    });
    out.push('<line x1="' + m.l + '" x2="' + m.l + '" y1="' + (m.t - 2) + '" y2="' + plotBottom + '" stroke="' + COLORS.axis + '"/>');
    rows.forEach(function (row, i) {
      var cy = m.t + i * rowH + rowH / 2;
      var received = isNum(row.received) ? row.received : 0;
      var barEnd = x(received);
      out.push(
        '<text class="row-label" x="' + (m.l - 10) + '" y="' + cy + '" dy="0.35em" text-anchor="end">' +
          esc(label(kind, row.key)) + "</text>"
      );
      out.push(
        '<rect x="' + m.l + '" y="' + (cy - 8) + '" width="' + Math.max(received ? 2 : 0, barEnd - m.l).toFixed(1) +
          '" height="16" rx="3" fill="' + COLORS.bar + '"><title>' + esc(label(kind, row.key) + " · " + fmtInt(received)) +
          "</title></rect>"
      );
      var share = total > 0 ? " · " + fmtPctShort(received / total) : "";
      out.push(
        '<text class="value-label" x="' + (barEnd + 6).toFixed(1) + '" y="' + cy + '" dy="0.35em">' +
          fmtInt(received) + '<tspan class="muted">' + esc(share) + "</tspan></text>"
      );
      // timeliness: a small gauge and the percentage, red below target
      var rate = row.timeliness_rate;
      var bad = breaches("timeliness_rate", rate);
      var gaugeW = 56;
      out.push('<rect x="' + rateX + '" y="' + (cy - 4) + '" width="' + gaugeW + '" height="8" rx="4" fill="' + COLORS.track + '"/>');
      if (isNum(rate)) {
        out.push(
          '<rect x="' + rateX + '" y="' + (cy - 4) + '" width="' + (gaugeW * Math.max(0, Math.min(1, rate))).toFixed(1) +
            '" height="8" rx="4" fill="' + (bad ? COLORS.bad : COLORS.good) + '"/>'
        );
      }
      out.push(
        '<text class="' + (bad ? "bad" : isNum(rate) ? "" : "muted") + '" x="' + (width - 8) + '" y="' + cy +
          '" dy="0.35em" text-anchor="end" data-rate="' + (isNum(rate) ? rate : "") + '">' + esc(fmtPct(rate)) + "</text>"
      );
    });
    if (!rows.length) {
      out.push('<text class="empty" x="' + (m.l + iw / 2) + '" y="' + (m.t + rowH / 2) + '" dy="0.35em" text-anchor="middle">' + esc(t("no_data")) + "</text>");
    }
    out.push("</svg>");
    box.innerHTML = out.join("");
  }

  function renderHotspots() {
    var body = state.data.hotspots;
    var hours = body.window_hours || 24;
    $("hot-hint").textContent = t("hot_hint", { h: hours, d: body.baseline_days || 7 });
    var rows = (body.rows || []).slice().sort(function (a, b) {
      if (!!b.surge !== !!a.surge) return b.surge ? 1 : -1;
      return (b.ratio || 0) - (a.ratio || 0);
    });
    if (!rows.length) {
      $("hotspots").innerHTML = '<div class="empty-note">' + esc(t("no_hotspots")) + "</div>";
      return;
    }
    var html = [
      "<table><thead><tr>",
      "<th>" + esc(t("th_district")) + "</th>",
      "<th>" + esc(t("th_category")) + "</th>",
      '<th class="num">' + esc(t("th_count", { h: hours })) + "</th>",
      '<th class="num">' + esc(t("th_baseline")) + "</th>",
      '<th class="num">' + esc(t("th_ratio")) + "</th>",
      "<th>" + esc(t("th_flag")) + "</th>",
      "</tr></thead><tbody>"
    ];
    rows.forEach(function (row) {
      html.push(
        '<tr data-row="hotspot"' + (row.surge ? ' class="surge" data-surge="true"' : "") + ">" +
          "<td>" + esc(label("district", row.district)) + "</td>" +
          "<td>" + esc(label("category", row.category)) + "</td>" +
          '<td class="num">' + fmtInt(row.count) + "</td>" +
          '<td class="num">' + esc(fmtDec(row.baseline, 1)) + "</td>" +
          '<td class="num ratio">' + (isNum(row.ratio) ? "×" + esc(fmtDec(row.ratio, 1)) : "—") + "</td>" +
          '<td class="nowrap">' + (row.surge ? '<span class="badge surge">' + esc(t("surge")) + "</span>" : '<span class="badge">' + esc(t("steady")) + "</span>") +
          "</td></tr>"
      );
    });
    html.push("</tbody></table>");
    $("hotspots").innerHTML = html.join("");
  }

  function assetText(type, id) {
    if (!type && !id) return "—";
    return label("asset_type", type) + " " + (id || "");
  }

  function emptyNote(key) {
    return '<div class="empty-note ok">✓ ' + esc(t(key)) + "</div>";
  }

  function renderIncidents() {
    var body = state.data.incidents;
    $("incidents-panel").hidden = !body;
    if (!body) return;
    var items = (body.items || []).slice().sort(function (a, b) {
      return (b.households || 0) - (a.households || 0);
    });
    $("inc-hint").textContent = t("inc_hint", { n: fmtInt(isNum(body.total) ? body.total : items.length) });
    if (!items.length) {
      $("incidents").innerHTML = emptyNote("no_incidents");
      return;
    }
    var html = [
      "<table><thead><tr>",
      "<th>" + esc(t("th_incident")) + "</th>",
      "<th>" + esc(t("th_family")) + "</th>",
      '<th class="num">' + esc(t("th_households")) + "</th>",
      '<th class="num">' + esc(t("th_complaints")) + "</th>",
      "<th>" + esc(t("th_eta")) + "</th>",
      '<th class="num">' + esc(t("th_age")) + "</th>",
      "<th>" + esc(t("th_sla")) + "</th>",
      "</tr></thead><tbody>"
    ];
    items.forEach(function (item) {
      var sla = String(item.sla_outcome || "unknown");
      html.push(
        '<tr data-row="incident" data-sla="' + esc(sla) + '"' + (sla === "overdue" ? ' class="overdue-incident"' : "") + ">" +
          '<td class="case"><div class="mono">' + esc(item.reference_no || "—") + "</div>" +
          '<div class="case-sub">' + esc(assetText(item.asset_type, item.asset_id) + " · " + label("district", item.district)) +
          "</div></td>" +
          '<td class="nowrap">' + esc(label("family", item.family)) + "</td>" +
          '<td class="num">' + fmtInt(item.households) + "</td>" +
          '<td class="num">' + fmtInt(item.complaint_count) + "</td>" +
          '<td class="nowrap">' + esc(fmtDateTime(item.eta)) + "</td>" +
          '<td class="num nowrap">' + esc(fmtDuration(item.duration_minutes)) + "</td>" +
          '<td class="nowrap"><span class="badge ' + esc(sla) + '">' + esc(label("sla", sla)) + "</span></td>" +
          "</tr>"
      );
    });
    html.push("</tbody></table>");
    $("incidents").innerHTML = html.join("");
  }

  function renderOutages() {
    var body = state.data.outages;
    $("outages-panel").hidden = !body;
    if (!body) return;
    var items = body.items || [];
    $("out-hint").textContent = t("out_hint", { n: fmtInt(isNum(body.total) ? body.total : items.length) });
    if (!items.length) {
      $("outages").innerHTML = emptyNote("no_outages");
      return;
    }
    var html = [
      "<table><thead><tr>",
      "<th>" + esc(t("th_notice")) + "</th>",
      "<th>" + esc(t("th_kind")) + "</th>",
      "<th>" + esc(t("th_family")) + "</th>",
      "<th>" + esc(t("th_starts")) + "</th>",
      "<th>" + esc(t("th_eta")) + "</th>",
      '<th class="num">' + esc(t("th_complaints")) + "</th>",
      "</tr></thead><tbody>"
    ];
    items.forEach(function (item) {
      var area = item.asset_type ? assetText(item.asset_type, item.asset_id) : label("district", item.district);
      var cause = state.lang === "en" ? item.description_en : item.description;
      html.push(
        '<tr data-row="outage">' +
          '<td class="case"><div class="mono">' + esc(item.reference_no || "—") + "</div>" +
          '<div class="case-sub">' + esc(area + (cause ? " · " + cause : "")) + "</div></td>" +
          '<td class="nowrap">' + esc(label("outage_kind", item.kind)) + "</td>" +
          '<td class="nowrap">' + esc(label("family", item.family)) + "</td>" +
          '<td class="nowrap">' + esc(fmtDateTime(item.starts_at)) + "</td>" +
          '<td class="nowrap">' + esc(fmtDateTime(item.expected_end)) + "</td>" +
          '<td class="num">' + fmtInt(item.complaint_count) + "</td>" +
          "</tr>"
      );
    });
    html.push("</tbody></table>");
    $("outages").innerHTML = html.join("");
  }

  function renderAssetHotspots() {
    var body = state.data.hotspots;
    var hours = body.window_hours || 24;
    var rows = (body.assets || []).slice().sort(function (a, b) {
      if (!!b.surge !== !!a.surge) return b.surge ? 1 : -1;
      return (b.ratio || 0) - (a.ratio || 0);
    });
    if (!rows.length) {
      $("asset-hotspots").innerHTML = '<div class="empty-note">' + esc(t("no_asset_hotspots")) + "</div>";
      return;
    }
    var html = [
      "<table><thead><tr>",
      "<th>" + esc(t("th_asset")) + "</th>",
      '<th class="num">' + esc(t("th_count", { h: hours })) + "</th>",
      '<th class="num">' + esc(t("th_baseline")) + "</th>",
      '<th class="num">' + esc(t("th_ratio")) + "</th>",
      "<th>" + esc(t("th_flag")) + "</th>",
      "</tr></thead><tbody>"
    ];
    rows.forEach(function (row) {
      html.push(
        '<tr data-row="asset-hotspot"' + (row.surge ? ' class="surge" data-surge="true"' : "") + ">" +
          "<td>" + esc(assetText(row.asset_type, row.asset_id)) + "</td>" +
          '<td class="num">' + fmtInt(row.count) + "</td>" +
          '<td class="num">' + esc(fmtDec(row.baseline, 1)) + "</td>" +
          '<td class="num ratio">' + (isNum(row.ratio) ? "×" + esc(fmtDec(row.ratio, 1)) : "—") + "</td>" +
          '<td class="nowrap">' + (row.surge ? '<span class="badge surge">' + esc(t("surge")) + "</span>" : '<span class="badge">' + esc(t("steady")) + "</span>") +
          "</td></tr>"
      );
    });
    html.push("</tbody></table>");
    $("asset-hotspots").innerHTML = html.join("");
  }

  function renderOverdue() {
    var body = state.data.overdue;
    var items = body.items || [];
    var total = isNum(body.total) ? body.total : items.length;
    $("overdue-hint").textContent = t("overdue_hint", { n: fmtInt(total) });
    if (!items.length) {
      $("overdue").innerHTML = '<div class="empty-note ok">✓ ' + esc(t("no_overdue")) + "</div>";
      return;
    }
    var html = [
      "<table><thead><tr>",
      "<th>" + esc(t("th_case")) + "</th>",
      "<th>" + esc(t("th_severity")) + "</th>",
      "<th>" + esc(t("th_status")) + "</th>",
      "<th>" + esc(t("th_resolve_by")) + "</th>",
      '<th class="num">' + esc(t("th_overdue")) + "</th>",
      "</tr></thead><tbody>"
    ];
    items.forEach(function (item) {
      var sev = String(item.severity || "");
      html.push(
        '<tr data-row="overdue" data-severity="' + esc(sev) + '">' +
          '<td class="case"><div class="mono">' + esc(item.reference_no || item.complaint_id || "—") + "</div>" +
          '<div class="case-sub">' + esc(label("department", item.department) + " · " + label("category", item.category)) +
          "</div></td>" +
          '<td class="nowrap"><span class="badge ' + esc(sev) + '">' + esc(label("severity", item.severity)) + "</span></td>" +
          '<td class="nowrap">' + esc(label("status", item.status)) + "</td>" +
          '<td class="nowrap">' + esc(fmtDateTime(item.resolve_by)) + "</td>" +
          '<td class="num overdue-time">' + esc(fmtDuration(item.overdue_minutes)) + "</td>" +
          "</tr>"
      );
    });
    html.push("</tbody></table>");
    var pageSize = body.page_size || OVERDUE_PAGE_SIZE;
    var pages = Math.max(1, Math.ceil(total / pageSize));
    var page = body.page || 1;
    if (pages > 1) {
      html.push(
        '<div class="pager"><button type="button" class="btn" data-page="' + (page - 1) + '"' + (page <= 1 ? " disabled" : "") + ">" +
          esc(t("prev")) + "</button><span>" + esc(t("page_of", { p: page, n: pages })) + "</span>" +
          '<button type="button" class="btn" data-page="' + (page + 1) + '"' + (page >= pages ? " disabled" : "") + ">" +
          esc(t("next")) + "</button></div>"
      );
    }
    $("overdue").innerHTML = html.join("");
  }

  function renderRepeat() {
    var body = state.data.repeat;
    $("repeat-panel").hidden = !body;
    if (!body) return;
    var rows = body.rows || [];
    if (!rows.length) {
      $("repeat").innerHTML = '<div class="empty-note">' + esc(t("no_repeat")) + "</div>";
      return;
    }
    var html = [
      "<table><thead><tr><th>" + esc(t("th_account")) + '</th><th class="num">' + esc(t("th_cases")) + "</th><th>" +
        esc(t("th_last")) + "</th></tr></thead><tbody>"
    ];
    rows.forEach(function (row) {
      html.push(
        '<tr data-row="repeat"><td class="mono">' + esc(row.account_no || "—") + '</td><td class="num">' + fmtInt(row.cases) +
          '</td><td class="nowrap">' + esc(fmtDateTime(row.last_at)) + "</td></tr>"
      );
    });
    html.push("</tbody></table>");
    $("repeat").innerHTML = html.join("");
  }

  // ---------- start-up and events ----------

  function setLang(lang) {
    state.lang = lang === "en" ? "en" : "zh";
    try {
      localStorage.setItem(LANG_STORAGE, state.lang);
    } catch (e) {
      /* storage may be disabled; the toggle still works for this page */
    }
    var url = new URL(window.location.href);
    url.searchParams.set("lang", state.lang);
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
    applyStaticText();
    if (state.data) renderAll();
  }

  function showKeyForm() {
    $("content").hidden = true;
    $("key-panel").hidden = false;
    setRendered("needs-key");
    $("key-input").focus();
  }

  function init() {
    var url = new URL(window.location.href);
    var params = url.searchParams;
    var stored = null;
    try {
      stored = localStorage.getItem(LANG_STORAGE);
    } catch (e) {
      stored = null;
    }
    state.lang = params.get("lang") === "en" || (!params.get("lang") && stored === "en") ? "en" : "zh";

    // The key travels in the URL only once: keep it for this tab and take it out of the address bar and history.
    var fromUrl = params.get("key");
    if (fromUrl) {
      sessionStorage.setItem(KEY_STORAGE, fromUrl);
      params.delete("key");
      history.replaceState(history.state, "", url.pathname + (params.toString() ? "?" + params.toString() : "") + url.hash);
    }
    state.key = sessionStorage.getItem(KEY_STORAGE);

    applyStaticText();

    $("period-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var from = $("from").value;
      var to = $("to").value;
      if (!isDay(from) || !isDay(to)) return;
      if (from > to) {
        $("error").textContent = t("err_period");
        $("error").hidden = false;
        return;
      }
      state.from = from;
      state.to = to;
      state.overduePage = 1;
      if (state.key) load();
    });

    $("key-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var key = $("key-input").value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY_STORAGE, key);
      state.key = key;
      $("key-input").value = "";
      $("key-panel").hidden = true;
      load();
    });

    Array.prototype.forEach.call(document.querySelectorAll(".lang-toggle button"), function (btn) {
      btn.addEventListener("click", function () {
        setLang(btn.getAttribute("data-lang"));
      });
    });

    $("overdue").addEventListener("click", function (event) {
      var target = event.target.closest("button[data-page]");
      if (target && !target.disabled) loadOverduePage(parseInt(target.getAttribute("data-page"), 10));
    });

    var resizeTimer = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(renderCharts, 150);
    });

    if (!state.key) {
      showKeyForm();
      return;
    }
    load();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
