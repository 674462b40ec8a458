"""Channels' settings (environment variables). One class for the whole service, so tests hand in one object and
the composition root passes it on (`app.state.settings`, `work.context.settings`).

Each protocol area keeps its own block below, marked with its folder; add your fields inside your block with a
targeted edit (this file is shared). Development secrets carry `dev-only` and are refused outside dev/test:
list yours in `_secrets`.
"""

from __future__ import annotations

import base64
import binascii
from functools import cached_property

from pydantic import Field, SecretStr, model_validator

from shared.credentials import DEV_MARKER
from shared.settings import IdentitySettings, ServiceSettings, refuse_dev_secrets

#: Base64 of "devonly-wechat-aes-key-32-bytes!" without its "=": 43 characters, as WeChat's console makes them.
DEV_WECHAT_ENCODING_AES_KEY = "ZGV2b25seS13ZWNoYXQtYWVzLWtleS0zMi1ieXRlcyE"


def _b64decode(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        return b""


def _dev_credentials() -> dict[str, str]:
    return {f"{DEV_MARKER}-channels-key": "channels-dev-client"}


class ChannelsSettings(ServiceSettings, IdentitySettings):
    # --- the core (skeleton, inbound, attachments, case read model) ---
    channels_http_host: str = "127.0.0.1"
    channels_http_port: int = Field(default=8006, ge=0, le=65535)
    #: Machine keys (key → system name) for channels' staff-side endpoints; persons sign in with their tokens.
    channels_credentials: dict[str, str] = Field(default_factory=_dev_credentials)
    channels_consumer_group: str = "channels"
    #: Where staff reach this service: the base of the attachment URLs put in events.
    channels_public_url: str = "http://127.0.0.1:8006"
    #: The largest attachment kept; a bigger one is recorded as skipped on its message, the message still taken.
    channels_attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    #: The key of the case read model's contact hashes (HMAC-SHA256): no raw phone, mail or openid is stored there.
    channels_contact_hash_key: str = f"{DEV_MARKER}-channels-contact-key"
    outbox_batch_size: int = Field(default=500, ge=1)

    # --- B. WeChat (wechat/) ---
    #: The Token of the official account's server settings (服务器配置); notify reads the same variable. Unset: in
    #: dev/test `dev-only-wechat-token`, elsewhere WeChat is off (every push refused).
    wechat_callback_token: str = ""
    #: The account's AppID: safe mode's plaintext ends with it (a message for another account is refused).
    wechat_app_id: str = "wx0123456789abcdef"
    #: The EncodingAESKey (43 characters) of the server settings: safe mode. Unset: in dev/test the dev key,
    #: elsewhere plaintext mode only.
    wechat_encoding_aes_key: str = ""
    #: notify's `/v1/receipts/wechat`: WeChat's template-message delivery reports reach the server URL (channels')
    #: and are passed on there. Empty: they are answered and dropped.
    wechat_receipts_url: str = ""
    #: How long the form link of a message waiting for its address stays valid.
    wechat_form_ttl_h: float = Field(default=72.0, gt=0)

    @model_validator(mode="after")
    def _check_wechat(self) -> ChannelsSettings:
        """A malformed EncodingAESKey fails at start-up, not at the first push; the dev key or token is refused
        outside dev/test (WeChat's Token may be 3 characters: `refuse_dev_secrets`' length rule does not fit it)."""
        key = self.wechat_encoding_aes_key
        if key and (len(key) != 43 or len(_b64decode(key + "=")) != 32):
            raise ValueError("WECHAT_ENCODING_AES_KEY must be 43 characters of Base64 (32 bytes)")
        if not self.is_dev and (DEV_MARKER in self.wechat_callback_token or key == DEV_WECHAT_ENCODING_AES_KEY):
            raise ValueError(f"refusing to start in {self.app_env!r}: development secrets for WeChat")
        return self

    @property
    def wechat_token(self) -> str:
        """The Token in force: the one set, else the dev token in dev/test; empty: WeChat is off."""
        return self.wechat_callback_token or (f"{DEV_MARKER}-wechat-token" if self.is_dev else "")

    @property
    def wechat_aes_key(self) -> str:
        """The EncodingAESKey in force: the one set, else the dev key in dev/test; empty: plaintext mode only."""
        return self.wechat_encoding_aes_key or (DEV_WECHAT_ENCODING_AES_KEY if self.is_dev else "")

    # --- C. Email (mail/) ---
    #: The complaints mailbox, read over IMAP with IDLE. The reader runs only when a host and a user are set.
    channels_imap_host: str = ""
    channels_imap_port: int = Field(default=993, ge=1, le=65535)
    #: TLS from the first byte (IMAPS, port 993). Off only for a server on the same host (the tests' Dovecot).
    channels_imap_tls: bool = True
    channels_imap_user: str = ""
    channels_imap_password: str = ""
    channels_imap_mailbox: str = "INBOX"
    #: How long one IDLE lasts before it is renewed (RFC 2177: under 29 minutes; NATs drop a quiet link sooner).
    channels_imap_idle_s: float = Field(default=300.0, gt=0, le=1740)
    #: One IMAP command's limit; past it the link is taken for dead and the reader reconnects.
    channels_imap_timeout_s: float = Field(default=30.0, gt=0)
    #: The longest wait between two reconnection attempts (the backoff doubles from half a second up to it).
    channels_imap_retry_max_s: float = Field(default=60.0, gt=0)
    #: notify's Message-ID domain (its NOTIFY_EMAIL_DOMAIN): a mail answering an id of it is a reply on that case.
    channels_mail_reply_domain: str = ""

    @property
    def imap_enabled(self) -> bool:
        return bool(self.channels_imap_host and self.channels_imap_user)

    # --- D. SMS replies (sms/) ---
    #: The `token` query parameter of the reply (uplink) callback URL configured in each vendor's console
    #: (`/sms/uplink/tencent?token=...`, `/sms/uplink/aliyun?token=...`): the vendors sign no push, so this secret
    #: is what tells them from anyone. Unset: that vendor's replies are refused (403) — in dev and test, the dev
    #: token `dev-only-<vendor>-sms-uplink-token` is taken instead (`sms_uplink_token`).
    tencent_sms_uplink_token: SecretStr = SecretStr("")
    aliyun_sms_uplink_token: SecretStr = SecretStr("")
    #: A reply belongs to the case of the last message sent to that number only this many days after it.
    channels_sms_reply_window_days: int = Field(default=30, ge=1)

    # --- E. 12345 / 95598 outbound (partners/) ---
    #: Each hotline's ticket feedback endpoint (签收, 退单, 延期, 办结, 回访 are pushed there) and the utility's app key
    #: and secret at that hotline. No URL: that hotline's pushes are queued and wait (none is lost).
    channels_partner_12345_url: str = ""
    channels_partner_12345_app_key: str = ""
    channels_partner_12345_secret: SecretStr = SecretStr("")
    channels_partner_95598_url: str = ""
    channels_partner_95598_app_key: str = ""
    channels_partner_95598_secret: SecretStr = SecretStr("")
    #: The retries of a push the partner did not take (down, 5xx, 429, no answer): the first after this long, then
    #: doubling up to the cap, until it is taken or refused.
    channels_partner_retry_first_s: float = Field(default=1.0, gt=0)
    channels_partner_retry_max_s: float = Field(default=300.0, gt=0)
    #: One call's limit; how long a push is leased to the worker that sends it (a crash frees it after this).
    channels_partner_timeout_s: float = Field(default=10.0, gt=0)
    channels_partner_lease_s: float = Field(default=60.0, gt=0)
    #: How often the worker looks for due pushes when it has nothing to send.
    channels_partner_poll_s: float = Field(default=1.0, gt=0)

    @property
    def partner_endpoints(self) -> dict[str, tuple[str, str, str]]:
        """Configured hotlines: partner → (URL, app key, secret)."""
        configured = {
            "12345": (self.channels_partner_12345_url, self.channels_partner_12345_app_key),
            "95598": (self.channels_partner_95598_url, self.channels_partner_95598_app_key),
        }
        secrets = {"12345": self.channels_partner_12345_secret, "95598": self.channels_partner_95598_secret}
        return {
            partner: (url, key, secrets[partner].get_secret_value())
            for partner, (url, key) in configured.items()
            if url
        }

    # --- F. Open311 and the status page (open311/, status/) ---
    #: Open311 API keys, one per client system (key → the system's name, carried as the complaint's `client`).
    channels_open311_keys: dict[str, str] = Field(
        default_factory=lambda: {f"{DEV_MARKER}-open311-key": "open311-dev-client"}
    )
    #: The district of an Open311 request (GeoReport carries none; dispatch and the hotspots read it).
    channels_open311_district: str = Field(default="未指明", min_length=1, max_length=64)
    #: Our jurisdiction_id; a request naming another is refused (404). Empty: the parameter is ignored.
    channels_open311_jurisdiction_id: str = ""
    #: Who answers for this Open311 endpoint (discovery's `contact`).
    channels_open311_contact: str = "客服热线 Customer service hotline"
    #: The status page: lookups per client address per minute, and wrong digits per reference number per hour.
    channels_status_lookups_per_minute: int = Field(default=20, ge=1)
    channels_status_failures_per_hour: int = Field(default=5, ge=1)

    def _secrets(self) -> dict[str, str]:
        """Name → value of every secret refused when it is a development one outside dev/test."""
        return {
            "CHANNELS_CONTACT_HASH_KEY": self.channels_contact_hash_key,
            **{
                name: token.get_secret_value()
                for name, token in (
                    ("TENCENT_SMS_UPLINK_TOKEN", self.tencent_sms_uplink_token),
                    ("ALIYUN_SMS_UPLINK_TOKEN", self.aliyun_sms_uplink_token),
                )
                if token.get_secret_value()
            },
            **{name: key for key, name in self.channels_credentials.items()},
            **{f"CHANNELS_OPEN311_KEYS[{name}]": key for key, name in self.channels_open311_keys.items()},
            **{f"CHANNELS_PARTNER_{p}_SECRET": secret for p, (_, _, secret) in self.partner_endpoints.items()},
        }

    @model_validator(mode="after")
    def _check(self) -> ChannelsSettings:
        refuse_dev_secrets(self, self._secrets(), DEV_MARKER)
        return self

    def sms_uplink_token(self, vendor: str) -> str:
        """The token a vendor's (`tencent`, `aliyun`) reply push must carry: the configured one; unset, the dev one
        in dev and test, else none (every push refused)."""
        token = {"tencent": self.tencent_sms_uplink_token, "aliyun": self.aliyun_sms_uplink_token}[vendor]
        return token.get_secret_value() or (f"{DEV_MARKER}-{vendor}-sms-uplink-token" if self.is_dev else "")

    @cached_property
    def system_by_key(self) -> dict[str, str]:
        return dict(self.channels_credentials)
