"""alpha-engine: a weekly quant research pipeline on an embedded Step Functions runtime."""

__version__ = "0.1.0"
__all__ = ["__version__"]
