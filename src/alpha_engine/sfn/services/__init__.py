"""Local bindings for Task resources: Lambda, Batch, SSM, SNS, DynamoDB, mocks.

The engine asks a :class:`ServiceRegistry` to run a :class:`TaskRequest`; the registry hands
it to the first :class:`Binding` that matches the resource. :func:`default_registry` wires
the built-in bindings; :class:`MockBinding` and :func:`load_mock_config` replace services in
tests.
"""

from ._base import Binding, BindingContext, ChildLease, Pattern, TaskRequest, split_resource
from ._batch import TERMINATION_MESSAGE_ENV, BatchBinding
from ._dynamodb import DynamoDBBinding
from ._lambda import LambdaBinding
from ._mock import MockBinding
from ._mock_config import MockConfig, MockConfigBinding, MockedResponse, load_mock_config, parse_mock_config
from ._registry import ServiceRegistry, default_registry
from ._sns import SnsBinding
from ._ssm import SsmBinding

__all__ = [
    "BatchBinding",
    "Binding",
    "BindingContext",
    "ChildLease",
    "DynamoDBBinding",
    "LambdaBinding",
    "MockBinding",
    "MockConfig",
    "MockConfigBinding",
    "MockedResponse",
    "Pattern",
    "ServiceRegistry",
    "SnsBinding",
    "SsmBinding",
    "TERMINATION_MESSAGE_ENV",
    "TaskRequest",
    "default_registry",
    "load_mock_config",
    "parse_mock_config",
    "split_resource",
]

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and getattr(_obj, "__module__", "").startswith(__name__ + "._"):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):
            pass
del _name, _obj
