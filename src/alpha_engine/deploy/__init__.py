"""Deployment to AWS: the CloudFormation template generated from the composition root, and the
stack operations (diff, apply, destroy) that put it into an account. See docs/deploy.md."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
