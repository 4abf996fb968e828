"""A stand-in for the Trakt API, in-process: the offline sandbox mode and the fake every test talks to."""

from trakt_mcp.sandbox.fake import Call, FakeTrakt, Fault
from trakt_mcp.sandbox.wire import FakeRequest, Reply

__all__ = ["Call", "FakeRequest", "FakeTrakt", "Fault", "Reply"]
