from ._errors import DeployError
from ._iam import RESOURCE_ACCESS, definition_permissions
from ._template import Template, logical_id, synthesize

__all__ = [
    "DeployError",
    "RESOURCE_ACCESS",
    "Template",
    "definition_permissions",
    "logical_id",
    "synthesize",
]
