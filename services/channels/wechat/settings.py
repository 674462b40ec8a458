"""The official account's server settings (服务器配置) as the channels service needs them: WECHAT_* variables.

The Token is the same variable notify reads for its `TEMPLATESENDJOBFINISH` receipts (`WECHAT_CALLBACK_TOKEN`):
one account, one server URL configuration. The EncodingAESKey turns safe mode on; without it only plaintext pushes
are read (WeChat's "明文模式"). Development values are refused outside `APP_ENV=dev`/`test`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.channels.wechat.crypto import MessageCipher, aes_key

DEV_TOKEN = "dev-only-wechat-token"  # noqa: S105 - the issue's dev token, refused outside dev/test
#: Base64 of "devonly-wechat-aes-key-32-bytes!" without its "=": 43 characters, as WeChat's console generates.
DEV_ENCODING_AES_KEY = "ZGV2b25seS13ZWNoYXQtYWVzLWtleS0zMi1ieXRlcyE"
DEV_APP_ID = "wx0123456789abcdef"  # the WeChat API stand-in's AppID


class WechatSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    app_env: Literal["dev", "test", "prod"] = Field(  # type: ignore[pydantic-alias]
        default="dev", validation_alias=AliasChoices("app_env", "APP_ENV")
    )
    wechat_callback_token: str = DEV_TOKEN
    wechat_app_id: str = DEV_APP_ID
    #: 43 characters from the account's server settings; empty: plaintext mode only.
    wechat_encoding_aes_key: str = DEV_ENCODING_AES_KEY
    #: Where customers open the form page (the channels service's public address), for the link in our reply.
    wechat_public_url: str = "http://127.0.0.1:8006"
    #: How long a form link stays valid.
    wechat_form_ttl_h: float = Field(default=72.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> WechatSettings:
        if self.wechat_encoding_aes_key:
            aes_key(self.wechat_encoding_aes_key)  # a malformed key fails at start-up, not at the first push
        if self.app_env in ("dev", "test"):
            return self
        weak = [
            name
            for name, value, dev in (
                ("WECHAT_CALLBACK_TOKEN", self.wechat_callback_token, DEV_TOKEN),
                ("WECHAT_ENCODING_AES_KEY", self.wechat_encoding_aes_key, DEV_ENCODING_AES_KEY),
            )
            if value == dev or "dev-only" in value
        ]
        if weak:
            raise ValueError(f"refusing to start in {self.app_env!r}: development secrets for {weak}")
        return self

    def cipher(self) -> MessageCipher | None:
        if not self.wechat_encoding_aes_key:
            return None
        return MessageCipher(self.wechat_encoding_aes_key, self.wechat_app_id)
