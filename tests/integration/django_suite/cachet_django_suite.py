"""Django's own memcached cache tests (cache.tests.PyMemcacheCacheTests, from Django's source)
run against cachet_django.CachetCache at settings.LOCATION: a subclass that only swaps the
backend, so every test Django runs on its stock pymemcache backend runs on cachet's."""
from cache import tests as django_cache_tests  # a module: its classes are not collected here
from django.conf import settings
from django.test import override_settings

_PARAMS = {"BACKEND": "cachet_django.CachetCache", "LOCATION": settings.LOCATION}


@override_settings(CACHES=django_cache_tests.caches_setting_for_tests(
    base=_PARAMS, exclude=django_cache_tests.memcached_excluded_caches))
class CachetCacheTests(django_cache_tests.PyMemcacheCacheTests):
    # The parent is skipped unless the stock backend is configured: this one always runs.
    __unittest_skip__ = False
    base_params = _PARAMS
