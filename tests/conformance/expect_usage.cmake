# A usage error exits with status 2.
execute_process(COMMAND "${CONFORM}" --no-such-option RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "exit status ${rc} for a usage error, 2 expected")
endif()
if(NOT err MATCHES "usage: sono-conform")
  message(FATAL_ERROR "no usage text on stderr")
endif()
