# tests/integration/deploy.cmake — deployment checks (docker-compose.yml, deploy/Dockerfile).
# Included by tests/integration/CMakeLists.txt, which defines nimbus_integration_test().
nimbus_integration_test(compose_config test_compose.py)

# docs/configuration.md and docs/api-reference.md carry tables generated from each
# daemon's --help and from proto/; this fails when they have drifted (fix: run
# tools/gen-config-doc.sh <build-dir> and commit the result).
add_test(NAME docs_generated_current
  COMMAND ${PROJECT_SOURCE_DIR}/tools/gen-config-doc.sh --check ${PROJECT_BINARY_DIR})
set_tests_properties(docs_generated_current PROPERTIES LABELS integration TIMEOUT 60)

# The image and the compose stack, for real, with podman (label "deploy"; see the
# script's docstring). Release tree only: it builds its own image from the sources,
# so running it again in the sanitizer tree would prove nothing new.
if(NOT NIMBUS_SANITIZE)
  nimbus_integration_test(deploy test_deploy.py TIMEOUT 1800)
  set_tests_properties(deploy PROPERTIES LABELS deploy)
endif()
