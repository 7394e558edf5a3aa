# The notifier's integration tests (included by tests/integration/CMakeLists.txt):
# real SMTP (python3-aiosmtpd), Kafka (dev broker), PostgreSQL, Redis, simulator.
nimbus_integration_test(notifier_flow test_notifier_flow.py SERVERS TIMEOUT 180)
nimbus_integration_test(notifier_rules test_notifier_rules.py SERVERS TIMEOUT 180)
nimbus_integration_test(notifier_recovery test_notifier_recovery.py SERVERS TIMEOUT 180)
