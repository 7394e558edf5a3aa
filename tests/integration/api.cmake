# api integration tests (label integration; shared servers fixture).
nimbus_integration_test(api_flows test_api_flows.py SERVERS)
nimbus_integration_test(api_behaviour test_api_behaviour.py SERVERS)
nimbus_integration_test(api_upstream_failures test_api_upstream_failures.py SERVERS)
nimbus_integration_test(api_kafka_outage test_api_kafka_outage.py SERVERS)
nimbus_integration_test(api_herd test_api_herd.py SERVERS)
nimbus_integration_test(api_writes test_api_writes.py SERVERS)
nimbus_integration_test(api_shutdown test_api_shutdown.py SERVERS)
nimbus_integration_test(api_relay test_api_relay.py SERVERS)
