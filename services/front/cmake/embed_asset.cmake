# embed_asset.cmake — turns one asset file into a C source:
#   const fr_asset_blob fr_blob_<SYM> = { bytes, length, "<first 12 hex of SHA-256>" };
# Usage: cmake -DIN=<file> -DOUT=<file.c> -DSYM=<identifier> -P embed_asset.cmake
file(READ "${IN}" hex HEX)
file(SHA256 "${IN}" sha)
string(SUBSTRING "${sha}" 0 12 version)
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n  " bytes "${bytes}")
file(WRITE "${OUT}.tmp"
"/* Generated from ${IN} by embed_asset.cmake — edit the asset, not this file. */\n"
"#include \"assets.h\"\n\n"
"static const unsigned char data[] = {\n  ${bytes}0x00};\n\n"
"const fr_asset_blob fr_blob_${SYM} = {data, ${len}, \"${version}\"};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
