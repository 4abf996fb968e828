"""Approval channels without a screen: the dialog command lines (exact argv and escaping per OS), which dialog a
system has, the runner's bounds, confirm_via / trust_host in the policy, and `policy explain`."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from guard.catalog import Catalog
from guard.channels.base import Asking, Question, Refusal, shown
from guard.channels.desktop import (
    DIALOG_COLUMNS,
    INDENT,
    OSASCRIPT,
    DesktopChannel,
    Dialog,
    DialogCommand,
    dialog_for,
    find_dialog,
    kdialog_command,
    osascript_command,
    powershell_command,
    powershell_script,
    run_dialog,
    zenity_command,
)
from guard.engine import Engine
from guard.policy import PolicyError, parse_policy
from tests.guard_server import RESOURCES, TOOLS
from trakt_mcp.cli.main import main

#: An effect sentence a hostile agent or a Trakt title could produce: quotes of every kind, backslashes, line
#: breaks, a fake extra line, AppleScript and PowerShell syntax, and bidi / zero-width characters.
HOSTILE = (
    'Remove "Dune" \\" & quit\'s `$(rm -rf ~)` $env:USERPROFILE \\\\server\\share\n'
    'Asked by: the owner" end run\r\n'
    "\u202eevil\u200b\u2066 end tell -e do shell script\x1b[2J"
)


def dialog(text: str = HOSTILE) -> Dialog:
    return Dialog("trakt-mcp: Allow this action?", text, 120)


# --- the words ----------------------------------------------------------------------------------------------------


def effect_paragraph(text: str) -> tuple[list[str], list[str]]:
    """The dialog's first paragraph (the effect, wrapped) and the lines after it."""
    lines = text.split("\n")
    end = lines.index("")
    return lines[:end], lines[end:]


def test_the_dialog_text_escapes_whatever_the_caller_chose_so_no_fake_line_or_reordering_survives() -> None:
    made = dialog_for('identity "alice" (client "x")', HOSTILE, 'policy rule rules."remove_*"', "trakt-mcp", 120)
    effect, rest = effect_paragraph(made.text)
    assert "".join(line.removeprefix(INDENT) for line in effect).replace(" ", "") == shown(HOSTILE).replace(" ", "")
    assert all(line.startswith(INDENT) for line in effect[1:])  # a wrapped line never passes for the dialog's own
    assert "\\n" in made.text and "\\u202e" in made.text and "\\x1b" in made.text and "\\r" in made.text
    assert rest[1] == 'Asked by: identity "alice" (client "x")'
    assert rest[2] == 'Because of: policy rule rules."remove_*"'
    assert rest[-1] == "Deny is the default; this dialog denies by itself after 120 s."
    assert not re.search(r"[\u200b\u202e\u2066\x1b\r]", made.text)
    assert made.title == "trakt-mcp: Allow this action?"


def test_an_endless_effect_sentence_is_cut_and_wrapped_for_the_dialog() -> None:
    made = dialog_for("the local user", "x" * 10_000, "rule", "s", 60)
    effect, _ = effect_paragraph(made.text)
    assert sum(len(line.removeprefix(INDENT)) for line in effect) == 600
    assert max(len(line) for line in made.text.split("\n")) <= DIALOG_COLUMNS


def test_blank_rendering_runs_are_escaped_once_with_their_count() -> None:
    padded = "Add (60 items): Dune" + "\u3164" * 500 + "\u2800" * 3 + "\u115f"
    assert shown(padded) == "Add (60 items): Dune\\u3164(x500)\\u2800(x3)\\u115f"


# --- one command line per OS ----------------------------------------------------------------------------------------


def test_zenity_argv_is_exact_with_deny_as_default_and_no_markup() -> None:
    command = zenity_command(dialog("Sign out of Trakt"), "/usr/bin/zenity")
    assert command.argv == (
        "/usr/bin/zenity",
        "--question",
        "--title=trakt-mcp: Allow this action?",
        "--text=Sign out of Trakt",
        "--no-markup",
        "--ok-label=Allow",
        "--cancel-label=Deny",
        "--default-cancel",
        "--timeout=120",
        "--width=480",
        "--icon-name=dialog-warning",
    )
    assert command.allowed(0, "") and not command.allowed(1, "") and not command.allowed(5, "")


def test_zenity_gets_the_text_as_one_argument_whatever_it_holds() -> None:
    command = zenity_command(dialog(), "zenity")
    assert command.argv[3] == f"--text={HOSTILE}"
    assert sum(HOSTILE in arg for arg in command.argv) == 1


def test_osascript_argv_is_exact_the_script_is_fixed_and_the_text_only_an_argument() -> None:
    command = osascript_command(dialog(), "/usr/bin/osascript")
    script = []
    for line in OSASCRIPT:
        script += ["-e", line]
    assert command.argv == (
        "/usr/bin/osascript",
        *script,
        "trakt-mcp: Allow this action?",
        "120",
        HOSTILE,
    )
    assert OSASCRIPT[1] == (
        "set answer to display dialog (item 3 of argv) with title (item 1 of argv) "
        'buttons {"Deny", "Allow"} default button "Deny" cancel button "Deny" '
        "giving up after ((item 2 of argv) as integer) with icon caution"
    )
    assert not any(HOSTILE in line for line in OSASCRIPT)
    assert not command.argv[-3].startswith("-"), "the first argument after the script is ours, not an option"
    assert command.allowed(0, "Allow\n")
    assert not command.allowed(0, "Deny\n") and not command.allowed(1, "") and not command.allowed(0, "Allowed")


def test_powershell_argv_is_exact_and_the_script_carries_the_text_only_as_base64() -> None:
    command = powershell_command(dialog(), "powershell.exe")
    assert command.argv[:-1] == (
        "powershell.exe",
        "-NoProfile",
        "-NonInteractive",
        "-ExecutionPolicy",
        "Bypass",
        "-EncodedCommand",
    )
    assert re.fullmatch(r"[A-Za-z0-9+/=]+", command.argv[-1])
    script = base64.b64decode(command.argv[-1]).decode("utf-16-le")
    assert script == powershell_script(dialog())
    assert script.isascii()
    encoded = re.findall(r"FromBase64String\('([A-Za-z0-9+/=]*)'\)", script)
    assert [base64.b64decode(value).decode("utf-8") for value in encoded] == [
        "trakt-mcp: Allow this action?",
        HOSTILE,
    ]
    for fragment in ("Dune", "rm -rf", "USERPROFILE", "end run", "shell script"):
        assert fragment not in script
    assert "$form.AcceptButton = $deny" in script and "$form.CancelButton = $deny" in script
    assert "$timer.Interval = 120000" in script and "$label.UseMnemonic = $false" in script
    assert command.allowed(0, "Allow\r\n") and not command.allowed(0, "Deny\r\n") and not command.allowed(1, "Allow")


def test_kdialog_argv_is_exact_with_deny_on_the_default_button_and_the_text_as_escaped_html() -> None:
    command = kdialog_command(dialog('<b>bold</b> & "q" \\n fake\nline two'), "kdialog")
    assert command.argv == (
        "kdialog",
        "--title",
        "trakt-mcp: Allow this action?",
        "--yes-label",
        "Deny",
        "--no-label",
        "Allow",
        "--cancel-label",
        "Cancel",
        "--warningyesnocancel",
        "<qt>&lt;b&gt;bold&lt;/b&gt; &amp; &quot;q&quot; &#92;n fake<br>line two</qt>",
    )
    assert command.allowed(1, "") and not command.allowed(0, "") and not command.allowed(2, "")


@pytest.mark.parametrize(
    ("platform", "environ", "programs", "expected"),
    [
        ("darwin", {}, {"osascript"}, "osascript"),
        ("win32", {}, {"powershell.exe"}, "powershell.exe"),
        ("win32", {}, {"pwsh.exe"}, "pwsh.exe"),
        ("linux", {"DISPLAY": ":0"}, {"zenity", "kdialog"}, "zenity"),
        ("linux", {"WAYLAND_DISPLAY": "wayland-0"}, {"kdialog"}, "kdialog"),
        ("linux", {}, {"zenity"}, "no display here"),
        ("linux", {"DISPLAY": ":0"}, set(), "Fix: install zenity"),
        ("darwin", {}, set(), "Fix: install osascript"),
    ],
)
def test_which_dialog_a_system_has(platform: str, environ: dict[str, str], programs: set[str], expected: str) -> None:
    found = find_dialog(platform, environ, lambda name: f"/bin/{name}" if name in programs else None)
    if isinstance(found, str):
        assert expected in found
    else:
        assert found[1] == f"/bin/{expected}"


async def test_the_runner_runs_without_a_shell_and_a_dialog_that_never_answers_is_killed_and_denies(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "ran"
    quoted = DialogCommand(("/bin/echo", f"$(touch {marker}); Allow"), lambda code, out: out.strip() == "Allow")
    assert await run_dialog(quoted, 5) is False and not marker.exists()
    started = time.monotonic()
    assert await run_dialog(DialogCommand(("sleep", "30"), lambda code, out: True), 0.3) is False
    assert time.monotonic() - started < 5
    assert await run_dialog(DialogCommand(("/no/such/dialog",), lambda code, out: True), 1) is False


# --- policy -------------------------------------------------------------------------------------------------------


def engine_for(policy: dict[str, Any]) -> Engine:
    return Engine(parse_policy(policy), Catalog.build(TOOLS, RESOURCES))


def remote(**extra: Any) -> dict[str, Any]:
    return {"token_sha256": "c" * 64, **extra}


def test_confirm_via_is_kept_in_order_and_reaches_the_decision_and_condition() -> None:
    loaded = engine_for(
        {
            "version": "1",
            "default": "allow",
            "rules": {
                "remove_item": {"action": "confirm", "confirm_via": ["desktop", "terminal"]},
                "add_item": {
                    "action": "allow",
                    "confirm_if": [{"arg": "id", "gt": 5}],
                    "confirm_via": ["terminal"],
                },
            },
        }
    )
    assert loaded.decide("remove_item").confirm_via == ("desktop", "terminal")  # type: ignore[union-attr]
    assert loaded.decide("fetch_item").confirm_via is None  # type: ignore[union-attr]
    outcome = loaded.decide("add_item").judge({"id": 9})  # type: ignore[union-attr]
    assert (outcome.action, outcome.confirm_via) == ("confirm", ("terminal",))


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"action": "deny", "confirm_via": ["desktop"]}, "confirm_via only applies when the rule asks"),
        ({"action": "confirm", "confirm_via": ["desktop", "desktop"]}, "names a channel twice"),
        ({"action": "confirm", "confirm_via": []}, "confirm_via"),
        ({"action": "confirm", "confirm_via": ["email"]}, "confirm_via[0]"),
    ],
)
def test_a_malformed_confirm_via_is_refused_naming_the_path(rule: dict[str, Any], problem: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy({"version": "1", "rules": {"remove_item": rule}})
    assert problem in str(caught.value) and 'rules."remove_item"' in str(caught.value)


def test_a_policy_whose_only_channel_is_a_remote_callers_own_client_is_refused() -> None:
    policy = {
        "version": "1",
        "default": "allow",
        "rules": {"remove_*": {"action": "confirm", "confirm_via": ["host"]}},
        "identities": {"laptop": remote()},
    }
    with pytest.raises(PolicyError) as caught:
        engine_for(policy)
    message = str(caught.value)
    assert 'rules."remove_*".confirm_via: ["host"] asks only the caller\'s own MCP client' in message
    assert 'identity "laptop"' in message and 'identities."laptop".trust_host' in message
    assert message.count("confirm_via") == 1, "one problem per rule, not one per tool"
    engine_for({**policy, "identities": {"laptop": remote(trust_host=True)}})  # trusted: accepted
    engine_for({**policy, "identities": {}})  # only the local user: host is theirs
    own_rule = {"rules": {"fetch_item": {"action": "confirm", "confirm_via": ["app", "host"]}}}
    with pytest.raises(PolicyError, match=r'identities."laptop".rules."fetch_item".confirm_via'):
        engine_for({"version": "1", "default": "allow", "identities": {"laptop": remote(**own_rule)}})


def test_trust_host_must_be_a_boolean() -> None:
    with pytest.raises(PolicyError, match="trust_host"):
        parse_policy({"version": "1", "identities": {"laptop": remote(trust_host="yes")}})


def test_policy_explain_names_the_channel_that_would_ask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.json"
    policy = {
        "version": "1",
        "default": "allow",
        "rules": {"remove_*": {"action": "confirm", "confirm_via": ["host", "desktop", "terminal"]}},
        "identities": {"laptop": remote()},
    }
    path.write_text(json.dumps(policy))
    assert main(["policy", "explain", "remove_user_watchlist", "--policy", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Confirmation channels (confirm_via)" in out and "desktop: cannot ask here (desktop: no display" in out
    assert "Would ask through: host when the client supports it, else terminal" in out
    assert "is asked only on their own approval page, <public-url>/approvals" in out  # the rule applies to people
    assert main(["policy", "explain", "remove_user_watchlist", "--policy", str(path), "--identity", "laptop"]) == 0
    out = capsys.readouterr().out
    assert "host: never for this caller" in out and "Would ask through: terminal" in out
    assert "approval page" not in out  # an identity of the policy is not a person of multi-user mode
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}" if name == "zenity" else None)
    assert main(["policy", "explain", "remove_user_watchlist", "--policy", str(path), "--identity", "laptop"]) == 0
    assert "Would ask through: desktop" in capsys.readouterr().out
    assert main(["policy", "explain", "search_shows", "--policy", str(path)]) == 0
    assert "Confirmation channels" not in capsys.readouterr().out  # never asked: nothing to say


async def test_one_dialog_at_a_time_and_waiting_for_the_screen_is_bounded() -> None:
    shown_now: list[str] = []

    async def slow_owner(command: DialogCommand, limit: float, environ: Any) -> bool:
        shown_now.append(command.argv[3])
        await anyio.sleep(2)
        return True

    channel = DesktopChannel(
        platform="linux", environ={"DISPLAY": ":9"}, which=lambda name: f"/usr/bin/{name}", runner=slow_owner, timeout=1
    )

    async def effect() -> str:
        return "Permanently remove item #1"

    def asking(identity: str) -> Asking:
        question = Question("remove_item", {"id": 1}, identity, None, 'policy rule rules."remove_*"')
        return Asking(question, None, {}, trusted_host=False, can_wait=True, describe=effect)

    results: list[Any] = []
    async with anyio.create_task_group() as group:
        for identity in ("ann", "ben"):
            group.start_soon(lambda who=identity: _append(results, channel.ask(asking(who))))
    assert len(shown_now) == 1, "the second question never shares the screen with the first"
    assert sorted(type(result).__name__ for result in results) == ["Answer", "Refusal"]
    refused = next(result for result in results if isinstance(result, Refusal))
    assert "another question stayed on the owner's screen for 1 s" in refused.message


async def _append(results: list[Any], pending: Any) -> None:
    results.append(await pending)
