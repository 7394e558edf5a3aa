# tests/integration/deploy.cmake — deployment checks (docker-compose.yml, deploy/Dockerfile).
# Included by tests/integration/CMakeLists.txt, which defines nimbus_integration_test().
nimbus_integration_test(compose_config test_compose.py)
