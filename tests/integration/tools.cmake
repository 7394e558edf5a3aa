# tests/integration/tools.cmake — tests of the tools/ programs.
# Included by tests/integration/CMakeLists.txt, which defines nimbus_integration_test().
nimbus_integration_test(weather_sim test_weather_sim.py)
nimbus_integration_test(cli test_cli.py TIMEOUT 120)
