"""Root of the ``alpha-engine`` command tree."""

from __future__ import annotations

import typer

from ._data import data_app
from ._pipeline import register
from ._predictor import predictor_app
from ._sfn import sfn_app
from ._stage import logcapture_app, stage_app

app = typer.Typer(
    name="alpha-engine",
    help="A weekly quant research pipeline on an embedded, durable AWS Step Functions runtime.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
register(app)
app.add_typer(data_app, name="data")
app.add_typer(predictor_app, name="predictor")
app.add_typer(stage_app, name="stage")
app.add_typer(logcapture_app, name="logcapture")
app.add_typer(sfn_app, name="sfn")


def main() -> None:
    app()
