# SPDX-License-Identifier: Apache-2.0
# protobuf-c code generation: proto/*.proto -> build/proto/**/*.pb-c.[ch],
# compiled into one static library. Nothing generated lands in the source
# tree.
find_program(TGPROF_PROTOC_C NAMES protoc-c REQUIRED)
pkg_check_modules(PROTOBUF_C REQUIRED IMPORTED_TARGET libprotobuf-c)

# tgprof_proto_library(NAME PROTO_DIR FILES...): compiles FILES (paths
# relative to PROTO_DIR, the import root) into the static library NAME,
# whose users include "<path>.pb-c.h" relative to that root.
function(tgprof_proto_library name proto_dir)
	set(out "${CMAKE_BINARY_DIR}/proto")
	set(srcs)
	set(hdrs)
	set(deps)
	foreach(p ${ARGN})
		string(REGEX REPLACE "\\.proto$" "" base "${p}")
		list(APPEND srcs "${out}/${base}.pb-c.c")
		list(APPEND hdrs "${out}/${base}.pb-c.h")
		list(APPEND deps "${proto_dir}/${p}")
	endforeach()
	add_custom_command(OUTPUT ${srcs} ${hdrs}
		COMMAND "${CMAKE_COMMAND}" -E make_directory "${out}"
		COMMAND "${TGPROF_PROTOC_C}" "--proto_path=${proto_dir}"
			"--c_out=${out}" ${ARGN}
		WORKING_DIRECTORY "${proto_dir}"
		DEPENDS ${deps}
		COMMENT "Generating protobuf-c code for ${name}"
		VERBATIM)
	add_library(${name} STATIC ${srcs} ${hdrs})
	target_include_directories(${name} PUBLIC "${out}")
	target_link_libraries(${name} PUBLIC PkgConfig::PROTOBUF_C)
endfunction()
