# Fills "binary" and "sha256" of a plugin manifest from the built binary.
# Usage: cmake -DIN=src.json -DOUT=dst.json -DBINARY=plugin.so -P sono_manifest.cmake
file(READ "${IN}" json)
string(JSON schema ERROR_VARIABLE jerr GET "${json}" schema)
if(jerr)
  message(FATAL_ERROR "${IN}: not a sonoplug manifest (field \"schema\": ${jerr})")
endif()
file(SHA256 "${BINARY}" sha)
get_filename_component(bin_name "${BINARY}" NAME)
string(JSON json SET "${json}" binary "\"${bin_name}\"")
string(JSON json SET "${json}" sha256 "\"${sha}\"")
file(WRITE "${OUT}.tmp" "${json}\n")
file(RENAME "${OUT}.tmp" "${OUT}")
