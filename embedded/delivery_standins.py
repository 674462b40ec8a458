"""The gateways notify delivers to in `make run`: local stand-ins of the SMS vendor, WeChat's official-account API
and a real mail server (`embedded/standins/`), started before the services and wired both ways — notify is told
where each gateway is and with which credentials (exactly the variables production sets to the real endpoints), and
each gateway where to send its status reports (notify's `POST /v1/receipts/{provider}`) — and the SMS stand-in where to
push a customer's reply (channels' `POST /sms/uplink/{vendor}?token=`, `<sms url>/_standin/reply`). Beside them, the
12345 / 95598 hotlines' feedback API (`hotline_partner`), where channels pushes 签收 … 回访 (`channels_env`).

The credentials and callback tokens are made afresh at every start: nothing real is behind them. A person sees
what arrived at `<gateway url>/_standin/messages` and on notify's `/dev/outbox`. `NOTIFY_SMS_PROVIDER=tencent` swaps
the Aliyun stand-in for Tencent Cloud's; `PLATFORM_DELIVERY_STANDINS=0` starts none (notify then delivers only what
the operator's own `ALIYUN_SMS_*`, `TENCENT_SMS_*`, `WECHAT_*` and `SMTP_*` settings configure, and the console inbox).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from embedded.standins.process import StandInProcess

#: The demo SMS sign name and one approved template code for every message (the stand-ins accept any parameters).
SIGN_NAME = "示范城市公用事业"
ALIYUN_KEY_ID, TENCENT_SECRET_ID, TENCENT_APP_ID = "dev-only-aliyun-key-id", "dev-only-tencent-secret-id", "1400000000"
WECHAT_APP_ID = "wx0123456789abcdef"
WECHAT_TEMPLATES = {
    "*": {"template_id": "TPL-generic-notice", "fields": {"reference_no": "character_string1", "text": "thing2"}}
}
EMAIL_FROM = "客户服务中心 <service@demo-utility.example>"
EMAIL_DOMAIN = "demo-utility.example"


class DeliveryStandIns:
    """Start, watch and stop the stand-ins; hand notify and the ready file their addresses."""

    def __init__(
        self, work_dir: Path, notify_url: str, environ: Mapping[str, str], channels_url: str | None = None
    ) -> None:
        self.work_dir = work_dir
        self.sms_vendor = "tencent" if environ.get("NOTIFY_SMS_PROVIDER", "").strip() == "tencent" else "aliyun"
        sms_secret, self.sms_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.wechat_secret, self.wechat_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.bounce_token = secrets.token_urlsafe(24)
        #: The `token` of channels' SMS uplink URL (customers' replies), as configured in the vendor's console.
        self.sms_uplink_token = secrets.token_urlsafe(24)
        uplink = f"{channels_url}/sms/uplink/{self.sms_vendor}?token={self.sms_uplink_token}" if channels_url else ""
        self.sms_secret = sms_secret
        receipts = f"{notify_url}/v1/receipts"
        self.receipts = receipts
        if self.sms_vendor == "aliyun":
            sms = StandInProcess(
                "embedded.standins.aliyun_sms",
                work_dir,
                env={
                    "ALIYUN_SMS_STANDIN_KEYS": json.dumps({ALIYUN_KEY_ID: sms_secret}),
                    "ALIYUN_SMS_STANDIN_RECEIPT_URL": f"{receipts}/aliyun_sms?token={self.sms_token}",
                    "ALIYUN_SMS_STANDIN_UPLINK_URL": uplink,
                },
            )
        else:
            sms = StandInProcess(
                "embedded.standins.tencent_sms",
                work_dir,
                env={
                    "TENCENT_SMS_STANDIN_KEYS": json.dumps({TENCENT_SECRET_ID: sms_secret}),
                    "TENCENT_SMS_STANDIN_SDK_APP_ID": TENCENT_APP_ID,
                    "TENCENT_SMS_STANDIN_RECEIPT_URL": f"{receipts}/tencent_sms?token={self.sms_token}",
                    "TENCENT_SMS_STANDIN_UPLINK_URL": uplink,
                },
            )
        self.sms = sms
        self.wechat = StandInProcess(
            "embedded.standins.wechat_api",
            work_dir,
            env={
                "WECHAT_STANDIN_APP_ID": WECHAT_APP_ID,
                "WECHAT_STANDIN_APP_SECRET": self.wechat_secret,
                # Delivery reports go to the account's server URL: channels' (which passes them on to notify), or
                # notify's receipts when channels does not run.
                "WECHAT_STANDIN_CALLBACK_URL": f"{channels_url}/wechat/callback"
                if channels_url
                else f"{receipts}/wechat",
                "WECHAT_STANDIN_CALLBACK_TOKEN": self.wechat_token,
                # The account's users write to channels' server URL, signed with the same Token.
                "WECHAT_STANDIN_SERVER_TOKEN": self.wechat_token,
                "WECHAT_STANDIN_SERVER_URL": f"{channels_url}/wechat/callback" if channels_url else "",
            },
        )
        self.mail = StandInProcess(
            "embedded.standins.mail_server",
            work_dir,
            env={"MAIL_STANDIN_BOUNCE_URL": f"{receipts}/smtp?token={self.bounce_token}"},
        )
        #: The hotlines' feedback API, with fresh app keys (partner -> (app key, secret)).
        self.hotline_keys = {p: (f"utility-{p}", secrets.token_urlsafe(24)) for p in ("12345", "95598")}
        self.hotline = StandInProcess(
            "embedded.standins.hotline_partner",
            work_dir,
            env={"HOTLINE_PARTNER_STANDIN_KEYS": json.dumps({p: {k: s} for p, (k, s) in self.hotline_keys.items()})},
        )
        self.processes = (self.sms, self.wechat, self.mail, self.hotline)

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start all three side by side; `wait_ready` before anyone needs their addresses."""
        for process in self.processes:
            if not process.is_running():
                process.launch()

    def wait_ready(self) -> None:
        for process in self.processes:
            process.wait_ready()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def restart_stopped(self) -> list[str]:
        """Start again what died (on new ports: notify must then be restarted to learn them). Names restarted."""
        restarted = []
        for process in self.processes:
            if not process.is_running():
                process.stop()
                process.start()
                restarted.append(process.name)
        return restarted

    def notify_env(self) -> dict[str, str]:
        """What notify reads to reach the gateways: the same variables as for the real vendors."""
        env: dict[str, str] = {"NOTIFY_SMS_PROVIDER": self.sms_vendor}
        sms_host = self.sms.url.removeprefix("http://")
        if self.sms_vendor == "aliyun":
            env |= {
                "ALIYUN_SMS_ACCESS_KEY_ID": ALIYUN_KEY_ID,
                "ALIYUN_SMS_ACCESS_KEY_SECRET": self.sms_secret,
                "ALIYUN_SMS_ENDPOINT": sms_host,
                "ALIYUN_SMS_PROTOCOL": "HTTP",
                "ALIYUN_SMS_SIGN_NAME": SIGN_NAME,
                "ALIYUN_SMS_TEMPLATE_CODES": json.dumps({"*": "SMS_000000001"}),
                "ALIYUN_SMS_RECEIPT_TOKEN": self.sms_token,
            }
        else:
            env |= {
                "TENCENT_SMS_SECRET_ID": TENCENT_SECRET_ID,
                "TENCENT_SMS_SECRET_KEY": self.sms_secret,
                "TENCENT_SMS_ENDPOINT": sms_host,
                "TENCENT_SMS_PROTOCOL": "HTTP",
                "TENCENT_SMS_SDK_APP_ID": TENCENT_APP_ID,
                "TENCENT_SMS_SIGN_NAME": SIGN_NAME,
                "TENCENT_SMS_TEMPLATES": json.dumps({"*": {"id": "1000001", "params": ["reference_no"]}}),
                "TENCENT_SMS_RECEIPT_TOKEN": self.sms_token,
            }
        env |= {
            "WECHAT_API_BASE": self.wechat.url,
            "WECHAT_APP_ID": WECHAT_APP_ID,
            "WECHAT_APP_SECRET": self.wechat_secret,
            "WECHAT_TEMPLATES": json.dumps(WECHAT_TEMPLATES),
            "WECHAT_CALLBACK_TOKEN": self.wechat_token,
            "SMTP_HOST": str(self.mail.ready.get("smtp_host", "127.0.0.1")),
            "SMTP_PORT": str(self.mail.ready["smtp_port"]),
            "SMTP_SECURITY": "none",
            "NOTIFY_EMAIL_FROM": EMAIL_FROM,
            "NOTIFY_EMAIL_DOMAIN": EMAIL_DOMAIN,
            "NOTIFY_BOUNCE_TOKEN": self.bounce_token,
        }
        return env

    def channels_env(self) -> dict[str, str]:
        """What channels reads to take the account's messages: the same Token and AppID the stand-in signs with."""
        return {
            "WECHAT_CALLBACK_TOKEN": self.wechat_token,
            "WECHAT_APP_ID": WECHAT_APP_ID,
            # WeChat's delivery reports reach channels (the server URL); it passes them on to notify.
            "WECHAT_RECEIPTS_URL": f"{self.receipts}/wechat",
            # Customers' SMS replies: the stand-in pushes them to channels' uplink URL with this token.
            f"{self.sms_vendor.upper()}_SMS_UPLINK_TOKEN": self.sms_uplink_token,
        } | self.hotline_env()

    def hotline_env(self) -> dict[str, str]:
        """Where channels pushes the hotlines' ticket states, with the credentials the stand-in checks."""
        env: dict[str, str] = {}
        for partner, (app_key, secret) in self.hotline_keys.items():
            env[f"CHANNELS_PARTNER_{partner}_URL"] = f"{self.hotline.url}/{partner}/ticket-feedback"
            env[f"CHANNELS_PARTNER_{partner}_APP_KEY"] = app_key
            env[f"CHANNELS_PARTNER_{partner}_SECRET"] = secret
        return env

    def ready_info(self) -> dict[str, Any]:
        """For the ready file: each gateway's URL (its `/_standin/` controls) and the mail server's SMTP port."""
        return {
            "sms": self.sms.url,
            "sms_vendor": self.sms_vendor,
            "wechat": self.wechat.url,
            "mail": self.mail.url,
            "hotline": self.hotline.url,
            "smtp_port": self.mail.ready["smtp_port"],
        }
