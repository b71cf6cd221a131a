# The dashboard (server/http/dashboard/, plain HTML/JS/CSS) compiled into the
# binary: embed_files.cmake turns the files into a generated .cc at build time, so
# editing a page needs only a rebuild. Included from server/http/CMakeLists.txt.
set(TASKHUB_DASHBOARD_FILES
    index.html app.js api.js util.js list.js instance.js history.js gantt.js entities.js
    dialog.js style.css favicon.svg)
set(_dashboard_inputs "")
foreach(f IN LISTS TASKHUB_DASHBOARD_FILES)
  list(APPEND _dashboard_inputs "${CMAKE_CURRENT_SOURCE_DIR}/dashboard/${f}")
endforeach()
set(_dashboard_cc "${CMAKE_CURRENT_BINARY_DIR}/dashboard_assets.cc")
# A semicolon in a custom command splits the argument: pass the list comma-separated.
list(JOIN TASKHUB_DASHBOARD_FILES "," _dashboard_files_csv)
add_custom_command(
  OUTPUT "${_dashboard_cc}"
  COMMAND "${CMAKE_COMMAND}" "-DOUT=${_dashboard_cc}"
          "-DBASE=${CMAKE_CURRENT_SOURCE_DIR}/dashboard"
          "-DFILES=${_dashboard_files_csv}"
          -P "${CMAKE_CURRENT_SOURCE_DIR}/embed_files.cmake"
  DEPENDS ${_dashboard_inputs} "${CMAKE_CURRENT_SOURCE_DIR}/embed_files.cmake"
  COMMENT "Embedding the dashboard's files"
  VERBATIM)
add_library(taskhub_dashboard dashboard.cc "${_dashboard_cc}")
target_compile_options(taskhub_dashboard PRIVATE ${TASKHUB_WARNINGS})
target_link_libraries(taskhub_dashboard PUBLIC taskhub_http_server PRIVATE absl::strings)

taskhub_test(dashboard_test SRCS dashboard_test.cc DEPS taskhub_dashboard)
if(TARGET dashboard_test)
  target_compile_definitions(dashboard_test
                             PRIVATE TASKHUB_DASHBOARD_DIR="${CMAKE_CURRENT_SOURCE_DIR}/dashboard")
endif()
