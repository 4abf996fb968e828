"""Ask: get a yes or no from a person through one channel (host elicitation, desktop dialog, terminal, app card).

`base` holds the one interface (`Channel`) and the choice of channel for a call; each channel is a small class of
its own module. The guard's middleware builds an `Asking` for a call that needs confirmation and calls `settle`.
"""

from guard.channels.base import (
    HOST,
    OWNER,
    Answer,
    Asking,
    Channel,
    Question,
    Refusal,
    Result,
    Unasked,
    Waiting,
    settle,
)

__all__ = [
    "HOST",
    "OWNER",
    "Answer",
    "Asking",
    "Channel",
    "Question",
    "Refusal",
    "Result",
    "Unasked",
    "Waiting",
    "settle",
]
