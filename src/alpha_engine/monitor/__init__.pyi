from ._alarms import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    Alarm,
    AlarmBook,
    AlarmError,
    Evaluation,
    StateChange,
    default_alarms,
    evaluate,
    evaluate_all,
    heartbeat_alarm,
)

__all__ = [
    "ALARM",
    "INSUFFICIENT_DATA",
    "OK",
    "Alarm",
    "AlarmBook",
    "AlarmError",
    "Evaluation",
    "StateChange",
    "default_alarms",
    "evaluate",
    "evaluate_all",
    "heartbeat_alarm",
]
