# persistence integration tests: each file starts its own Redis, PostgreSQL and
# nimbus-persistence (the degraded-mode tests kill and freeze them), so none
# needs the shared servers fixture.
nimbus_integration_test(persistence test_persistence.py TIMEOUT 300)
nimbus_integration_test(persistence_degraded test_persistence_degraded.py TIMEOUT 600)
nimbus_integration_test(persistence_outbox test_persistence_outbox.py TIMEOUT 300)
nimbus_integration_test(persistence_sentinel test_persistence_sentinel.py TIMEOUT 300)
