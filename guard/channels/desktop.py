"""The `desktop` channel: a native dialog the server itself opens on the owner's screen.

`osascript` on macOS, PowerShell / WinForms on Windows, `zenity` or `kdialog` on Linux with a display. The dialog
shows the effect sentence, who asked and the rule; Deny is the default button (Return or Escape deny), it denies by
itself when it times out, and the agent has no way to click it. Each command line is built by a pure function
(tested on the exact argv): text a caller chose is never part of a script. It travels as a separate argument
(osascript, zenity, kdialog) or base64 inside the script (PowerShell), and is shown with control and format
characters escaped, so quotes, backslashes, newlines and bidi marks cannot break out or fake a line. One runner
runs the argv without a shell, waits within a bound, and kills the dialog when the call is cancelled.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import anyio
import anyio.abc

from guard.channels.base import MAX_WAITING_PER_CALLER, OWNER, Answer, Asking, Refusal, Result, shown

log = logging.getLogger("guard")

TITLE = "Allow this action?"
#: The widest line a dialog shows (characters); zenity's --width matches it, so both buttons stay on screen.
DIALOG_COLUMNS = 64
INDENT = "    "
ALLOW, DENY = "Allow", "Deny"
#: Seconds a dialog waits for the owner; shorter when the client did not ask for progress (it may give up on a
#: silent call after about a minute).
TIMEOUT = 120
TIMEOUT_SILENT = 50
#: How often a waiting call tells the client it is still waiting.
REPORT_EVERY = 10.0


@dataclass(frozen=True)
class Dialog:
    """What the owner reads: the title and the body (already made safe to show)."""

    title: str
    text: str
    timeout: int


@dataclass(frozen=True)
class DialogCommand:
    """A dialog program's argv, and how to read its answer from the exit code and standard output."""

    argv: tuple[str, ...]
    allowed: Callable[[int, str], bool]


def dialog_for(asking_who: str, effect: str, rule: str, server: str, timeout: int, home: str | None = None) -> Dialog:
    """The dialog's words. Everything of the caller's choosing is escaped by `shown`; every line is wrapped at
    DIALOG_COLUMNS, long words broken, so no text can widen the dialog and push its buttons off the screen."""
    lines = [
        shown(effect),
        "",
        f"Asked by: {asking_who}",
        f"Because of: {shown(rule, 200)}",
    ]
    if home:
        lines.append(f"State folder: {shown(home, 200)}")
    lines += ["", f"Deny is the default; this dialog denies by itself after {timeout} s."]
    # Continuation lines are indented: text of the caller's choosing wrapped onto a new line can never pass for
    # one of the dialog's own lines ("Asked by: ...").
    wrapped = [
        textwrap.fill(line, DIALOG_COLUMNS, subsequent_indent=INDENT, break_on_hyphens=False) if line else line
        for line in lines
    ]
    return Dialog(f"{server}: {TITLE}", "\n".join(wrapped), timeout)


# --- one pure builder per dialog program ------------------------------------------------------------------------


def zenity_command(dialog: Dialog, program: str = "zenity") -> DialogCommand:
    """zenity --question: exit 0 = Allow, 1 = Deny or closed, 5 = timed out. --no-markup shows the text as is."""
    argv = (
        program,
        "--question",
        f"--title={dialog.title}",
        f"--text={dialog.text}",
        "--no-markup",
        f"--ok-label={ALLOW}",
        f"--cancel-label={DENY}",
        "--default-cancel",
        f"--timeout={dialog.timeout}",
        "--width=480",
        "--icon-name=dialog-warning",
    )
    return DialogCommand(argv, lambda code, out: code == 0)


def kdialog_command(dialog: Dialog, program: str = "kdialog") -> DialogCommand:
    """kdialog's yes/no/cancel box with Deny on its default button (Yes) and Allow on No, so Return denies and
    Escape (Cancel) denies too; only Allow (exit code 1) allows. kdialog guesses rich text and expands backslash
    escapes, so the body is escaped HTML with backslashes as entities. It has no timeout: the runner ends it."""
    body = "<qt>" + html.escape(dialog.text).replace("\\", "&#92;").replace("\n", "<br>") + "</qt>"
    argv = (
        program,
        "--title",
        dialog.title,
        "--yes-label",
        DENY,
        "--no-label",
        ALLOW,
        "--cancel-label",
        "Cancel",
        "--warningyesnocancel",
        body,
    )
    return DialogCommand(argv, lambda code, out: code == 1)


#: The AppleScript: fixed text; the title, timeout and body arrive as `argv` of the run handler.
OSASCRIPT = (
    "on run argv",
    "set answer to display dialog (item 3 of argv) with title (item 1 of argv) "
    f'buttons {{"{DENY}", "{ALLOW}"}} default button "{DENY}" cancel button "{DENY}" '
    "giving up after ((item 2 of argv) as integer) with icon caution",
    f'if gave up of answer then return "{DENY}"',
    "return button returned of answer",
    "end run",
)


def osascript_command(dialog: Dialog, program: str = "osascript") -> DialogCommand:
    """display dialog with Deny as default and cancel button. The title goes first among the arguments: it is
    ours, so no argument the caller chose can be taken for an osascript option."""
    argv = [program]
    for line in OSASCRIPT:
        argv += ["-e", line]
    argv += [dialog.title, str(dialog.timeout), dialog.text]
    return DialogCommand(tuple(argv), lambda code, out: code == 0 and out.strip() == ALLOW)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def powershell_script(dialog: Dialog) -> str:
    """A WinForms dialog. The title and body are base64 of UTF-8 in the script: only [A-Za-z0-9+/=] reach it."""
    return "\n".join(
        (
            "$ErrorActionPreference = 'Stop'",
            "Add-Type -AssemblyName System.Windows.Forms",
            "Add-Type -AssemblyName System.Drawing",
            "$utf8 = [System.Text.Encoding]::UTF8",
            f"$title = $utf8.GetString([Convert]::FromBase64String('{_b64(dialog.title)}'))",
            f"$text = $utf8.GetString([Convert]::FromBase64String('{_b64(dialog.text)}'))",
            "$form = New-Object System.Windows.Forms.Form",
            "$form.Text = $title",
            "$form.TopMost = $true",
            "$form.StartPosition = 'CenterScreen'",
            "$form.FormBorderStyle = 'FixedDialog'",
            "$form.MinimizeBox = $false",
            "$form.MaximizeBox = $false",
            "$form.AutoSize = $true",
            "$form.AutoSizeMode = 'GrowAndShrink'",
            "$panel = New-Object System.Windows.Forms.FlowLayoutPanel",
            "$panel.FlowDirection = 'TopDown'",
            "$panel.AutoSize = $true",
            "$panel.Padding = New-Object System.Windows.Forms.Padding(12)",
            "$label = New-Object System.Windows.Forms.Label",
            "$label.UseMnemonic = $false",
            "$label.AutoSize = $true",
            "$label.MaximumSize = New-Object System.Drawing.Size(480, 0)",
            "$label.Text = $text",
            "$buttons = New-Object System.Windows.Forms.FlowLayoutPanel",
            "$buttons.AutoSize = $true",
            "$deny = New-Object System.Windows.Forms.Button",
            f"$deny.Text = '{DENY}'",
            "$deny.DialogResult = [System.Windows.Forms.DialogResult]::No",
            "$allow = New-Object System.Windows.Forms.Button",
            f"$allow.Text = '{ALLOW}'",
            "$allow.DialogResult = [System.Windows.Forms.DialogResult]::Yes",
            "$buttons.Controls.AddRange(@($deny, $allow))",
            "$panel.Controls.AddRange(@($label, $buttons))",
            "$form.Controls.Add($panel)",
            "$form.AcceptButton = $deny",
            "$form.CancelButton = $deny",
            "$form.Add_Shown({ $deny.Focus() })",
            "$timer = New-Object System.Windows.Forms.Timer",
            f"$timer.Interval = {dialog.timeout * 1000}",
            "$timer.Add_Tick({ $form.DialogResult = [System.Windows.Forms.DialogResult]::No; $form.Close() })",
            "$timer.Start()",
            f"if ($form.ShowDialog() -eq [System.Windows.Forms.DialogResult]::Yes) {{ '{ALLOW}' }} else {{ '{DENY}' }}",
        )
    )


def powershell_command(dialog: Dialog, program: str = "powershell.exe") -> DialogCommand:
    """-EncodedCommand takes the script as base64 of UTF-16LE, so no quoting rule of cmd or PowerShell applies."""
    encoded = base64.b64encode(powershell_script(dialog).encode("utf-16-le")).decode("ascii")
    argv = (program, "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand", encoded)
    return DialogCommand(argv, lambda code, out: code == 0 and out.strip() == ALLOW)


Builder = Callable[[Dialog, str], DialogCommand]


def find_dialog(
    platform: str, environ: Mapping[str, str], which: Callable[[str], str | None]
) -> tuple[Builder, str] | str:
    """The dialog program for this system (a builder and the program's path), or why there is none with the fix."""
    candidates: Sequence[tuple[str, Builder]]
    if platform == "darwin":
        candidates = [("osascript", osascript_command)]
    elif platform == "win32":
        candidates = [("powershell.exe", powershell_command), ("pwsh.exe", powershell_command)]
    else:
        if not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
            return "desktop: no display here (DISPLAY and WAYLAND_DISPLAY are unset), so no dialog can be shown"
        candidates = [("zenity", zenity_command), ("kdialog", kdialog_command)]
    for name, builder in candidates:
        found = which(name)
        if found:
            return builder, found
    names = " or ".join(name for name, _ in candidates)
    return f"desktop: no dialog program found ({names}). Fix: install {candidates[0][0]}"


# --- the runner ---------------------------------------------------------------------------------------------------


async def run_dialog(command: DialogCommand, limit: float, environ: Mapping[str, str] | None = None) -> bool:
    """Run the dialog (no shell) and read its answer; False when it fails, times out or is cancelled (the
    dialog is killed then, so none is left on the screen)."""
    process: anyio.abc.Process | None = None
    try:
        process = await anyio.open_process(
            list(command.argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(environ) if environ is not None else None,
        )
        with anyio.move_on_after(limit):
            output = b""
            assert process.stdout is not None
            async for chunk in process.stdout:
                output += chunk[: 4096 - len(output)]
            code = await process.wait()
            return command.allowed(code, output.decode("utf-8", "replace"))
        return False
    except OSError as exc:
        log.error("the desktop dialog could not be shown (%s): %s", command.argv[0], exc)
        return False
    finally:
        if process is not None and process.returncode is None:
            process.kill()
            with anyio.CancelScope(shield=True):
                await process.wait()


Runner = Callable[[DialogCommand, float, "Mapping[str, str] | None"], Awaitable[bool]]


class DesktopChannel:
    """Asks the owner in a dialog on this machine's screen; one dialog at a time, so answers cannot be mixed up."""

    name = "desktop"

    def __init__(
        self,
        *,
        server: str = "MCP server",
        platform: str = sys.platform,
        environ: Mapping[str, str] | None = None,
        which: Callable[[str], str | None] = shutil.which,
        runner: Runner = run_dialog,
        timeout: int = TIMEOUT,
    ) -> None:
        self.server = server
        self.platform = platform
        self.environ = os.environ if environ is None else environ
        self.which = which
        self.runner = runner
        self.timeout = timeout
        self._one_at_a_time = anyio.Lock()
        self._waiting: dict[str | None, int] = {}

    def _found(self) -> tuple[Builder, str] | str:
        return find_dialog(self.platform, self.environ, self.which)

    def unavailable(self, asking: Asking) -> str | None:
        found = self._found()
        return found if isinstance(found, str) else None

    async def answered(self, asking: Asking) -> Answer | None:
        return None  # the call waits for the dialog: no answer outlives it

    async def ask(self, asking: Asking) -> Result:
        found = self._found()
        if isinstance(found, str):
            return Refusal(self.name, found)
        builder, program = found
        identity = asking.question.identity
        if self._waiting.get(identity, 0) >= MAX_WAITING_PER_CALLER:
            return Refusal(self.name, "too many questions from this caller already wait for the owner's answer.")
        if (rationed := asking.ration()) is not None:
            return Refusal(self.name, rationed)
        self._waiting[identity] = self._waiting.get(identity, 0) + 1
        try:
            timeout = self.timeout if asking.can_wait else min(self.timeout, TIMEOUT_SILENT)
            question = asking.question
            effect = await asking.effect()
            dialog = dialog_for(question.who(), effect, question.rule, self.server, timeout, asking.home)
            command = builder(dialog, program)
            acquired = False
            with anyio.move_on_after(timeout):  # one dialog at a time; waiting for the screen is bounded too
                await self._one_at_a_time.acquire()
                acquired = True
            if not acquired:
                return Refusal(self.name, f"another question stayed on the owner's screen for {timeout} s.")
            try:
                allowed = await self._show(asking, command, timeout)
            finally:
                self._one_at_a_time.release()
        finally:
            self._waiting[identity] -= 1
        if allowed:
            return Answer(self.name, True, OWNER)
        denied = f"The owner denied it in a desktop dialog (or let it time out): {effect}."
        return Answer(self.name, False, OWNER, denied)

    async def _show(self, asking: Asking, command: DialogCommand, timeout: int) -> bool:
        """Run the dialog, telling the client every few seconds that the owner is being asked."""
        async with anyio.create_task_group() as group:

            async def tell() -> None:
                waited = 0.0
                while True:
                    left = max(timeout - waited, 0)
                    await asking.report(f"Waiting for the owner to answer a dialog on the desktop ({left:.0f} s left)")
                    await anyio.sleep(REPORT_EVERY)
                    waited += REPORT_EVERY

            group.start_soon(tell)
            allowed = await self.runner(command, timeout + 5, self.environ)
            group.cancel_scope.cancel()
        return allowed
