# Compiler warnings shared by every target of the project.
#
# runtools_enable_warnings(<target>) turns on -Wall -Wextra -Wpedantic (and a few
# more; the C++-only ones for C++ sources) for the target's own sources; with
# RUNTOOLS_WERROR=ON they become errors.

function(runtools_enable_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Wshadow
      $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor> $<$<COMPILE_LANGUAGE:CXX>:-Wold-style-cast>
      -Wcast-align $<$<COMPILE_LANGUAGE:CXX>:-Woverloaded-virtual>)
    if(RUNTOOLS_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  elseif(MSVC)
    target_compile_options(${target} PRIVATE /W4 /permissive-)
    if(RUNTOOLS_WERROR)
      target_compile_options(${target} PRIVATE /WX)
    endif()
  endif()
endfunction()
