"""Q2SSOResponse and its parts, under the path of Q2's docs (q2_sdk.hq.models.sso_response)."""

from q2ext.handlers.sso import Q2SSOResponse, ResponseType, UserLevelConfig, UserLevelConfigList

__all__ = ["Q2SSOResponse", "ResponseType", "UserLevelConfig", "UserLevelConfigList"]
