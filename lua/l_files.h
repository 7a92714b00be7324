/* Helpers the file-format bindings share (l_io.c, l_npz.c, l_h5.c): the checked file name and
 * the sorted order of member names.  They live here, not in l_aux.c, because they serve only
 * the bindings that open files. */
#ifndef KR_L_FILES_H
#define KR_L_FILES_H

#include <lua.h>

/* The file name at idx: a non-empty string without zero bytes, else an argument error
 * ("empty file name", "file name contains a zero byte"). */
const char *kr_lua_check_file(lua_State *L, int idx);

/* qsort comparator for an array of C strings, by strcmp: archives list their members in
 * sorted order, so a saved file does not depend on a Lua table's traversal order. */
int kr_lua_cmp_names(const void *a, const void *b);

#endif
