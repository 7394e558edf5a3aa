# concat.cmake — OUT = the concatenation of the files in IN (a ;-list).
# Usage: cmake "-DIN=a;b" -DOUT=<file> -P concat.cmake
file(WRITE "${OUT}.tmp" "")
foreach(f ${IN})
  file(READ "${f}" part)
  file(APPEND "${OUT}.tmp" "${part}")
endforeach()
file(RENAME "${OUT}.tmp" "${OUT}")
