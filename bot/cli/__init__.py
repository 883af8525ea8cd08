"""`govbot` command line (the entry point ``bot.cli:app``): the commands, registered here in the order
`govbot --help` lists them. Each command group lives in a module of its own:

- index_commands: ingest, check (and ``run_ingest``, the ingest with a progress bar);
- answer_commands: ask, eval, fit, match;
- serve_commands: web, telegram, serve (and ``start_messengers``, ``start_retention``);
- admin_commands: purge, sensitive list|add|remove, report.
"""

from __future__ import annotations

import typer

from bot import messages
from bot.cli.admin_commands import purge_command, report_command, sensitive_app
from bot.cli.answer_commands import ask_command, eval_command, fit_command, match_command
from bot.cli.common import setup_logging
from bot.cli.index_commands import check_command, ingest_command, print_summary, run_ingest
from bot.cli.serve_commands import (
    serve_command,
    start_messengers,
    start_retention,
    telegram_command,
    web_command,
)

_setup_logging = setup_logging  # the old name: tests and scripts import it

__all__ = ["app", "print_summary", "run_ingest", "start_messengers", "start_retention"]

app = typer.Typer(add_completion=False, no_args_is_help=True, help=messages.BOT_NAME)
app.command("ingest", help=messages.CLI_HELP_INGEST)(ingest_command)
app.command("check", help=messages.CLI_HELP_CHECK)(check_command)
app.command("ask", help=messages.CLI_HELP_ASK)(ask_command)
app.command("eval", help=messages.CLI_HELP_EVAL)(eval_command)
app.command("fit", help=messages.CLI_HELP_FIT)(fit_command)
app.command("web", help=messages.CLI_HELP_WEB)(web_command)
app.command("telegram", help=messages.CLI_HELP_TELEGRAM)(telegram_command)
app.command("serve", help=messages.CLI_HELP_SERVE)(serve_command)
app.command("purge", help=messages.CLI_HELP_PURGE)(purge_command)
app.add_typer(sensitive_app, name="sensitive")
app.command("match", help=messages.CLI_HELP_MATCH)(match_command)
app.command("report", help=messages.REPORT_HELP)(report_command)
