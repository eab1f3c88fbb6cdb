package sql

// builtinFunctions are the MySQL and MariaDB built-in functions (the TiDB
// grammar's function names, from its ast package's constants, and
// MariaDB's own), in lower case: a call to any other name is a stored
// function or a UDF, which may write (Traits.Calls).
//
// Regenerate the TiDB part with:
//
//	d=$(go list -m -f '{{.Dir}}' github.com/pingcap/tidb/pkg/parser)
//	grep -ohE '^\s+[A-Z][A-Za-z0-9]*\s*= "[a-z_0-9]+"' $d/ast/functions.go $d/ast/expressions.go
var builtinFunctions = map[string]bool{
	"abs": true, "acos": true, "add_months": true, "adddate": true, "addtime": true, "aes_decrypt": true,
	"aes_encrypt": true, "and": true, "any_value": true, "approx_count_distinct": true,
	"approx_percentile": true, "ascii": true, "asin": true, "atan": true, "atan2": true, "avg": true,
	"benchmark": true, "bin": true, "bin_to_uuid": true, "binlog_gtid_pos": true, "bit_and": true,
	"bit_count": true, "bit_length": true, "bit_or": true, "bit_xor": true, "bitand": true, "bitneg": true,
	"bitor": true, "bitxor": true, "case": true, "cast": true, "ceil": true, "ceiling": true, "char": true,
	"char_func": true, "char_length": true, "character_length": true, "charset": true, "chr": true,
	"coalesce": true, "coercibility": true, "collation": true, "column_add": true, "column_check": true,
	"column_create": true, "column_delete": true, "column_exists": true, "column_get": true,
	"column_json": true, "column_list": true, "compress": true, "concat": true, "concat_ws": true,
	"connection_id": true, "conv": true, "convert": true, "convert_tz": true, "cos": true, "cot": true,
	"count": true, "crc32": true, "cume_dist": true, "curdate": true, "current_date": true,
	"current_resource_group": true, "current_role": true, "current_time": true, "current_timestamp": true,
	"current_user": true, "curtime": true, "database": true, "date": true, "date_add": true,
	"date_format": true, "date_sub": true, "datediff": true, "day": true, "dayname": true, "dayofmonth": true,
	"dayofweek": true, "dayofyear": true, "decode": true, "decode_oracle": true, "default_func": true,
	"degrees": true, "dense_rank": true, "div": true, "elt": true, "encode": true, "eq": true, "exp": true,
	"export_set": true, "extract": true, "field": true, "find_in_set": true, "first_value": true,
	"firstrow": true, "floor": true, "format": true, "format_bytes": true, "format_nano_time": true,
	"found_rows": true, "from_base64": true, "from_days": true, "from_unixtime": true, "fts_match_word": true,
	"ge": true, "get_format": true, "get_lock": true, "getparam": true, "getvar": true, "greatest": true,
	"group_concat": true, "grouping": true, "gt": true, "hex": true, "hour": true, "if": true, "ifnull": true,
	"ilike": true, "in": true, "inet6_aton": true, "inet6_ntoa": true, "inet_aton": true, "inet_ntoa": true,
	"insert_func": true, "instr": true, "intdiv": true, "interval": true, "is_free_lock": true, "is_ipv4": true,
	"is_ipv4_compat": true, "is_ipv4_mapped": true, "is_ipv6": true, "is_used_lock": true, "is_uuid": true,
	"isfalse": true, "isnull": true, "istrue": true, "istrue_with_null": true, "json_array": true,
	"json_array_append": true, "json_array_insert": true, "json_array_intersect": true, "json_arrayagg": true,
	"json_compact": true, "json_contains": true, "json_contains_path": true, "json_depth": true,
	"json_detailed": true, "json_equals": true, "json_exists": true, "json_extract": true, "json_insert": true,
	"json_key_value": true, "json_keys": true, "json_length": true, "json_loose": true, "json_memberof": true,
	"json_merge": true, "json_merge_patch": true, "json_merge_preserve": true, "json_normalize": true,
	"json_object": true, "json_object_filter_keys": true, "json_object_to_array": true, "json_objectagg": true,
	"json_overlaps": true, "json_pretty": true, "json_query": true, "json_quote": true, "json_remove": true,
	"json_replace": true, "json_schema_valid": true, "json_search": true, "json_set": true,
	"json_storage_free": true, "json_storage_size": true, "json_sum_crc32": true, "json_type": true,
	"json_unquote": true, "json_valid": true, "json_value": true, "kdf": true, "lag": true, "last_day": true,
	"last_insert_id": true, "last_value": true, "lastval": true, "lcase": true, "le": true, "lead": true,
	"least": true, "left": true, "leftshift": true, "length": true, "like": true, "ln": true, "load_file": true,
	"localtime": true, "localtimestamp": true, "locate": true, "log": true, "log10": true, "log2": true,
	"lower": true, "lpad": true, "lt": true, "ltrim": true, "make_set": true, "makedate": true,
	"maketime": true, "mask_date": true, "mask_full": true, "mask_null": true, "mask_partial": true,
	"master_gtid_wait": true, "master_pos_wait": true, "max": true, "md5": true, "median": true,
	"microsecond": true, "mid": true, "min": true, "minus": true, "minute": true, "mod": true, "month": true,
	"monthname": true, "mul": true, "name_const": true, "natural_sort_key": true, "ne": true, "nextval": true,
	"not": true, "now": true, "nth_value": true, "ntile": true, "nulleq": true, "nullif": true, "nvl": true,
	"nvl2": true, "oct": true, "octet_length": true, "or": true, "ord": true, "password": true,
	"percent_rank": true, "percentile_cont": true, "percentile_disc": true, "period_add": true,
	"period_diff": true, "pi": true, "plus": true, "point": true, "position": true, "pow": true, "power": true,
	"quarter": true, "quote": true, "radians": true, "rand": true, "random_bytes": true, "rank": true,
	"regexp": true, "regexp_instr": true, "regexp_like": true, "regexp_replace": true, "regexp_substr": true,
	"release_all_locks": true, "release_lock": true, "repeat": true, "replace": true, "reverse": true,
	"right": true, "rightshift": true, "round": true, "row": true, "row_count": true, "row_number": true,
	"rpad": true, "rtrim": true, "schema": true, "sec_to_time": true, "second": true, "session_user": true,
	"setval": true, "setvar": true, "sformat": true, "sha": true, "sha1": true, "sha2": true, "sign": true,
	"sin": true, "sleep": true, "sm3": true, "soundex": true, "source_pos_wait": true, "space": true,
	"sqrt": true, "st_astext": true, "st_contains": true, "st_distance": true, "st_distance_sphere": true,
	"st_geomfromtext": true, "st_intersects": true, "st_srid": true, "st_within": true, "st_x": true,
	"st_y": true, "std": true, "stddev": true, "stddev_pop": true, "stddev_samp": true, "str_to_date": true,
	"strcmp": true, "subdate": true, "substr": true, "substring": true, "substring_index": true,
	"subtime": true, "sum": true, "sys_context": true, "sys_guid": true, "sysdate": true, "system_user": true,
	"tan": true, "tidb_bounded_staleness": true, "tidb_current_tso": true, "tidb_decode_base64_key": true,
	"tidb_decode_binary_plan": true, "tidb_decode_key": true, "tidb_decode_plan": true,
	"tidb_decode_sql_digests": true, "tidb_encode_index_key": true, "tidb_encode_record_key": true,
	"tidb_encode_sql_digest": true, "tidb_is_ddl_owner": true, "tidb_mvcc_info": true, "tidb_parse_tso": true,
	"tidb_parse_tso_logical": true, "tidb_row_checksum": true, "tidb_shard": true, "tidb_version": true,
	"time": true, "time_format": true, "time_to_sec": true, "timediff": true, "timestamp": true,
	"timestampadd": true, "timestampdiff": true, "to_base64": true, "to_char": true, "to_days": true,
	"to_seconds": true, "translate": true, "trim": true, "truncate": true, "ucase": true, "unaryminus": true,
	"unaryplus": true, "uncompress": true, "uncompressed_length": true, "unhex": true, "unix_timestamp": true,
	"upper": true, "user": true, "utc_date": true, "utc_time": true, "utc_timestamp": true, "uuid": true,
	"uuid_short": true, "uuid_timestamp": true, "uuid_to_bin": true, "uuid_v4": true, "uuid_v7": true,
	"uuid_version": true, "validate_password_strength": true, "values": true, "var_pop": true, "var_samp": true,
	"variance": true, "vec_as_text": true, "vec_cosine_distance": true, "vec_dims": true, "vec_from_text": true,
	"vec_l1_distance": true, "vec_l2_distance": true, "vec_l2_norm": true, "vec_negative_inner_product": true,
	"version": true, "vitess_hash": true, "week": true, "weekday": true, "weekofyear": true,
	"weight_string": true, "wsrep_last_seen_gtid": true, "wsrep_last_written_gtid": true,
	"wsrep_sync_wait_upto_gtid": true, "xor": true, "year": true, "yearweek": true,
}

// builtin reports whether name (any case) is a built-in function, without
// allocating.
func builtin(name string) bool {
	var buf [40]byte
	if len(name) > len(buf) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return builtinFunctions[string(buf[:len(name)])]
}
