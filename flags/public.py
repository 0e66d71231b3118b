"""The flags app's front door: what other apps may use. Nothing else is imported across apps."""

from flags import is_enabled
from flags import tokens as api_tokens

__all__ = ["api_tokens", "is_enabled"]
