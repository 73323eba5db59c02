from ._base import (
    ETF_MACRO_SYMBOLS,
    FRED_ONLY_SYMBOLS,
    INDEX_SYMBOLS,
    MACRO_SYMBOLS,
    SECTOR_ETFS,
    MacroProvider,
    Provider,
)
from ._factory import open_macro_provider, open_provider
from ._files import FilesProvider
from ._fred import FRED_SERIES, FredProvider
from ._http import HttpClient, HttpSettings, RateLimiter, RetryPolicy, redact
from ._options import (
    MACRO_PROVIDER_NAMES,
    PROVIDER_NAMES,
    FilesOptions,
    FredOptions,
    HttpOptions,
    PolygonOptions,
    SampleOptions,
    SyntheticOptions,
    YahooOptions,
    check_data_settings,
    provider_options,
)
from ._polygon import PolygonProvider, to_polygon_symbol
from ._sample import (
    SAMPLE_CAVEATS,
    SAMPLE_DEFAULT_RUN_DATE,
    SAMPLE_LAST_DATE,
    SAMPLE_SECTORS,
    SampleProvider,
    first_saturday_after,
)
from ._synthetic import SYNTHETIC_CAVEATS, SyntheticProvider
from ._yahoo import YahooProvider, from_yahoo_symbol, to_yahoo_symbol

__all__ = [
    "ETF_MACRO_SYMBOLS",
    "FRED_ONLY_SYMBOLS",
    "FRED_SERIES",
    "INDEX_SYMBOLS",
    "MACRO_PROVIDER_NAMES",
    "MACRO_SYMBOLS",
    "PROVIDER_NAMES",
    "SAMPLE_CAVEATS",
    "SAMPLE_DEFAULT_RUN_DATE",
    "SAMPLE_LAST_DATE",
    "SAMPLE_SECTORS",
    "SECTOR_ETFS",
    "SYNTHETIC_CAVEATS",
    "FilesOptions",
    "FilesProvider",
    "FredOptions",
    "FredProvider",
    "HttpClient",
    "HttpOptions",
    "HttpSettings",
    "MacroProvider",
    "PolygonOptions",
    "PolygonProvider",
    "Provider",
    "RateLimiter",
    "RetryPolicy",
    "SampleOptions",
    "SampleProvider",
    "SyntheticOptions",
    "SyntheticProvider",
    "YahooOptions",
    "YahooProvider",
    "check_data_settings",
    "first_saturday_after",
    "from_yahoo_symbol",
    "open_macro_provider",
    "open_provider",
    "provider_options",
    "redact",
    "to_polygon_symbol",
    "to_yahoo_symbol",
]
