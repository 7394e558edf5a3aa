# The HTTP server's life cycle in every daemon (libcommon/src/http_server.c):
# shutdown under keep-alive load, under valgrind, hostile log input, slow
# clients against the open-file limit. Included by CMakeLists.txt.
foreach(daemon persistence api front)
  string(SUBSTRING ${daemon} 0 1 first)
  string(TOUPPER ${first} first)
  string(SUBSTRING ${daemon} 1 -1 rest)
  nimbus_integration_test(server_shutdown_${daemon} test_server_shutdown.py SERVERS TIMEOUT 180
    ARGS ${first}${rest})
endforeach()
nimbus_integration_test(server_limits test_server_limits.py SERVERS TIMEOUT 180)
# valgrind sees what ASan cannot (libmicrohttpd is not instrumented); running it
# on sanitizer binaries does not work, so the release tree only.
if(NOT NIMBUS_SANITIZE)
  nimbus_integration_test(server_shutdown_valgrind test_server_shutdown_valgrind.py SERVERS
    TIMEOUT 240)
endif()
