# sono_add_plugin(NAME <name> SOURCES <src>... MANIFEST <manifest.json> [LIBS <lib>...])
#
# Builds a sonoplug plugin the way the ABI requires (docs/plugin-guide.md):
#  - a MODULE library <name>.so, C11, hidden visibility, linked with a version
#    script that exports only `sono_entry` (DESIGN.md rule 1);
#  - no RPATH: the SDK is linked statically, so the binary depends only on
#    system libraries;
#  - after each build, <name>.sono.json is written beside the binary in
#    SONO_PLUGIN_DIR with "binary" and "sha256" filled from the built file;
#  - `install` puts both into ${CMAKE_INSTALL_LIBDIR}/sonoplug/plugins.
set(SONO_PLUGIN_VERSION_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/sono_plugin.version")
set(SONO_PLUGIN_MANIFEST_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/sono_manifest.cmake")

function(sono_add_plugin)
  cmake_parse_arguments(P "" "NAME;MANIFEST;OUTPUT_DIR" "SOURCES;LIBS" ${ARGN})
  if(NOT P_NAME OR NOT P_SOURCES OR NOT P_MANIFEST)
    message(FATAL_ERROR "sono_add_plugin: NAME, SOURCES and MANIFEST are required")
  endif()
  if(NOT P_OUTPUT_DIR)
    set(P_OUTPUT_DIR "${SONO_PLUGIN_DIR}")
  endif()
  get_filename_component(manifest_in "${P_MANIFEST}" ABSOLUTE)
  add_library(${P_NAME} MODULE ${P_SOURCES})
  set_target_properties(${P_NAME} PROPERTIES
    PREFIX "" OUTPUT_NAME "${P_NAME}"
    LIBRARY_OUTPUT_DIRECTORY "${P_OUTPUT_DIR}"
    C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
    SKIP_BUILD_RPATH ON
    LINK_DEPENDS "${SONO_PLUGIN_VERSION_SCRIPT}")
  target_link_options(${P_NAME} PRIVATE
    "-Wl,--version-script=${SONO_PLUGIN_VERSION_SCRIPT}" "-Wl,-z,noexecstack" "-Wl,--no-undefined"
    # Only libraries the plugin really calls become dependencies (the SDK links
    # cJSON and libcrypto for the host side; plugins must not drag them in).
    "-Wl,--as-needed")
  target_link_libraries(${P_NAME} PRIVATE sono_abi ${P_LIBS})
  set(manifest_out "${P_OUTPUT_DIR}/${P_NAME}.sono.json")
  add_custom_command(TARGET ${P_NAME} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -DIN=${manifest_in} -DOUT=${manifest_out}
            -DBINARY=$<TARGET_FILE:${P_NAME}> -P ${SONO_PLUGIN_MANIFEST_SCRIPT}
    COMMENT "Writing ${P_NAME}.sono.json with the binary's sha256"
    VERBATIM)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${manifest_in}")
  install(TARGETS ${P_NAME} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/sonoplug/plugins)
  install(FILES "${manifest_out}" DESTINATION ${CMAKE_INSTALL_LIBDIR}/sonoplug/plugins)
endfunction()
