"""SSO parent and response, as the real SDK imports it."""

from q2ext.handlers.sso import Q2SSORequestHandler, Q2SSOResponse, ResponseType, UserLevelConfig, UserLevelConfigList

__all__ = ["Q2SSORequestHandler", "Q2SSOResponse", "ResponseType", "UserLevelConfig", "UserLevelConfigList"]
