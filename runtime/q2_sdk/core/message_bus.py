"""`from q2_sdk.core import message_bus`; `await message_bus.push(self.logger, text, type)`."""

from q2ext.bus import PushError, push
from q2ext.envelope import Message
from q2ext.handlers.message_bus import DeadLetter, RetryLater

__all__ = ["DeadLetter", "Message", "PushError", "RetryLater", "push"]
