# front's integration tests (included by tests/integration/CMakeLists.txt).
nimbus_integration_test(front_api_down test_front_api_down.py TIMEOUT 120)
nimbus_integration_test(front test_front.py SERVERS TIMEOUT 300)
nimbus_integration_test(front_hourly test_front_hourly.py SERVERS TIMEOUT 300)
nimbus_integration_test(front_cache test_front_cache.py SERVERS TIMEOUT 300)
nimbus_integration_test(front_browser test_front_browser.py SERVERS TIMEOUT 300)
set_property(TEST front_browser APPEND PROPERTY LABELS browser)
