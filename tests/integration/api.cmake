# api integration tests (label integration; shared servers fixture).
nimbus_integration_test(api_flows test_api_flows.py SERVERS)
nimbus_integration_test(api_behaviour test_api_behaviour.py SERVERS)
nimbus_integration_test(api_upstream_failures test_api_upstream_failures.py SERVERS)
nimbus_integration_test(api_kafka_outage test_api_kafka_outage.py SERVERS)
nimbus_integration_test(api_hourly test_api_hourly.py SERVERS)
