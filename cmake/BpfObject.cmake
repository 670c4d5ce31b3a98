# SPDX-License-Identifier: Apache-2.0
# Compiles kernel-side programs (bpf/*.bpf.c) and generates their libbpf
# skeletons into the build folder.
#
#   tgprof_vmlinux_h()                 -> ${TGPROF_BPF_GEN_DIR}/vmlinux.h
#   tgprof_bpf_object(NAME SOURCE)     -> interface target NAME_skel that
#                                         provides NAME.skel.h
#
# vmlinux.h comes from the running kernel's BTF (TGPROF_VMLINUX_BTF, default
# /sys/kernel/btf/vmlinux); programs use CO-RE, so the objects still load on
# other kernels with BTF.

find_program(BPF_CLANG NAMES clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

set(TGPROF_VMLINUX_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH
	"BTF file vmlinux.h is generated from")
set(TGPROF_BPF_GEN_DIR "${CMAKE_BINARY_DIR}/bpf")
# Times the pieces of the sampling program into its piece_ns array
# (bench/README.md, "BPF cost per sample"). Off: not compiled in.
option(TGPROF_BPF_TIME_PIECES "time the pieces of the BPF sample program" OFF)
set(TGPROF_BPF_DEFS)
if(TGPROF_BPF_TIME_PIECES)
	set(TGPROF_BPF_DEFS -DTGPROF_BPF_TIME_PIECES)
endif()

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64")
	set(TGPROF_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
	set(TGPROF_BPF_ARCH arm64)
else()
	message(FATAL_ERROR "tgprof: unsupported architecture ${CMAKE_SYSTEM_PROCESSOR}")
endif()

function(tgprof_vmlinux_h)
	if(NOT EXISTS "${TGPROF_VMLINUX_BTF}")
		message(FATAL_ERROR
			"tgprof: no kernel BTF at ${TGPROF_VMLINUX_BTF}; "
			"tgprof needs a kernel built with CONFIG_DEBUG_INFO_BTF=y "
			"(or pass -DTGPROF_VMLINUX_BTF=<file>)")
	endif()
	file(MAKE_DIRECTORY "${TGPROF_BPF_GEN_DIR}")
	add_custom_command(
		OUTPUT "${TGPROF_BPF_GEN_DIR}/vmlinux.h"
		COMMAND "${BPFTOOL}" btf dump file "${TGPROF_VMLINUX_BTF}"
			format c > "${TGPROF_BPF_GEN_DIR}/vmlinux.h.tmp"
		COMMAND "${CMAKE_COMMAND}" -E rename
			"${TGPROF_BPF_GEN_DIR}/vmlinux.h.tmp"
			"${TGPROF_BPF_GEN_DIR}/vmlinux.h"
		DEPENDS "${TGPROF_VMLINUX_BTF}"
		COMMENT "Generating vmlinux.h from ${TGPROF_VMLINUX_BTF}"
		VERBATIM)
	add_custom_target(tgprof_vmlinux_h
		DEPENDS "${TGPROF_BPF_GEN_DIR}/vmlinux.h")
endfunction()

function(tgprof_bpf_object name source)
	get_filename_component(src "${source}" ABSOLUTE)
	get_filename_component(src_dir "${src}" DIRECTORY)
	set(obj "${TGPROF_BPF_GEN_DIR}/${name}.bpf.o")
	set(skel "${TGPROF_BPF_GEN_DIR}/${name}.skel.h")
	file(GLOB shared_headers CONFIGURE_DEPENDS "${src_dir}/*.h")

	add_custom_command(
		OUTPUT "${obj}"
		COMMAND "${BPF_CLANG}" -target bpf -g -O2 -Wall -Werror
			-D__TARGET_ARCH_${TGPROF_BPF_ARCH} ${TGPROF_BPF_DEFS}
			-I "${TGPROF_BPF_GEN_DIR}" -I "${src_dir}"
			-c "${src}" -o "${obj}"
		DEPENDS "${src}" ${shared_headers}
			"${TGPROF_BPF_GEN_DIR}/vmlinux.h"
		COMMENT "Compiling BPF object ${name}.bpf.o"
		VERBATIM)
	add_custom_command(
		OUTPUT "${skel}"
		COMMAND "${BPFTOOL}" gen skeleton "${obj}" name "${name}"
			> "${skel}.tmp"
		COMMAND "${CMAKE_COMMAND}" -E rename "${skel}.tmp" "${skel}"
		DEPENDS "${obj}"
		COMMENT "Generating BPF skeleton ${name}.skel.h"
		VERBATIM)
	add_custom_target(${name}_skel_gen DEPENDS "${skel}")

	add_library(${name}_skel INTERFACE)
	add_dependencies(${name}_skel ${name}_skel_gen)
	target_include_directories(${name}_skel INTERFACE "${TGPROF_BPF_GEN_DIR}")
endfunction()
