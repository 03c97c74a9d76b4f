# Records a trace through the call tracer (trace.calls), replays it with
# --replay on the same plugin (PASS, exit 0), then on another plugin (FAIL
# naming both ids, exit 1).
file(MAKE_DIRECTORY "${WORK}")
set(trace "${WORK}/session.trace")
file(REMOVE "${trace}")
execute_process(COMMAND ${CMAKE_COMMAND} -E env SONO_CONFORM_KEEP_TRACE=${trace}
                        "${CONFORM}" "${PLUGIN}" --only trace.calls --seed 5 RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT EXISTS "${trace}")
  message(FATAL_ERROR "trace.calls did not pass or wrote no trace (exit ${rc}):\n${out}")
endif()
file(READ "${trace}" text)
foreach(call "plugin.init" "plugin.activate" "plugin.process" "output.push" "params.set_value" "state.save"
        "plugin.deactivate" "plugin.destroy")
  if(NOT text MATCHES " ${call} ")
    message(FATAL_ERROR "the trace has no ${call} call:\n${text}")
  endif()
endforeach()
execute_process(COMMAND "${CONFORM}" "${PLUGIN}" --replay "${trace}" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message("${out}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "PASS  trace.replay +[^\n]*plugin call\\(s\\) re-run; statuses and event counts match")
  message(FATAL_ERROR "replay on the recorded plugin: exit ${rc}")
endif()
execute_process(COMMAND "${CONFORM}" "${OTHER}" --replay "${trace}" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message("${out}")
if(NOT rc EQUAL 1 OR NOT out MATCHES "FAIL  trace.replay +[^\n]*the trace is of plugin org.sonoplug.fixture.good, not")
  message(FATAL_ERROR "replay on another plugin: exit ${rc}, FAIL naming both plugins expected")
endif()
