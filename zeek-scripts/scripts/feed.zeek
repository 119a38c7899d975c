##! Reads the feed file of the zeekanom sidecar and raises each entry as a
##! notice of the type that :zeek:see:`ZeekAnom::rule_notes` gives its rule.
##!
##! The feed is read with the *raw* input reader in STREAM mode, one line
##! per event, and each line is parsed here, not with the ASCII reader. The
##! reason is rotation: the sidecar bounds the feed's size by renaming it
##! (``zeekanom_feed.log`` becomes ``zeekanom_feed.log.1``) and starting a
##! new file. Since Zeek 5.1 the raw reader in STREAM mode notices that the
##! path now names another file (inode or device changed) and reads the new
##! one from its start, the way ``tail -F`` does; the ASCII reader in STREAM
##! mode keeps reading the renamed file forever and never sees the new one.
##! Truncating the file in place instead would not help either reader: both
##! keep their read position, beyond the new end of the file.
##!
##! The raw reader switches to the new file without draining the old one, so
##! rows appended to the old file after the reader's last poll would be lost.
##! The sidecar therefore repeats the last rows of the old file at the start
##! of the new one, those it first wrote less than ten minutes before, and
##! this script raises an entry id again only when it reads it both more than
##! :zeek:see:`ZeekAnom::replay_window` after raising it and after raising
##! more entries than a rotation can repeat, so those repeats are not raised.
##! (A Zeek restart forgets the raised ids: see
##! :zeek:see:`ZeekAnom::existing_max_age`.)
##!
##! At the end of the file the raw reader also hands over what it has of a
##! line whose newline has not been written yet, so a row can arrive in two
##! pieces. A row is whole when it has as many fields as the header and its
##! last field, a time, is ``-`` or has all six decimals; a piece that is not
##! is kept and joined with the next line. When the two joined make no good
##! row but the next line alone does (the piece was a damaged line, not the
##! start of a row), the piece is dropped with a warning and the line raised.
##! The sidecar escapes ``#`` in values, so a line starting with ``#`` is
##! always a header line.
##!
##! The feed says its version in a ``#feed_version`` header line (none in
##! version 1). Columns are read by their names, so a feed of another
##! version than :zeek:see:`ZeekAnom::feed_version` is read all the same:
##! a newer one's new columns are left unread, an older one's missing
##! columns are unset, and either is said once in ``reporter.log``.
##!
##! On a cluster only the manager reads the feed and raises the notices (a
##! standalone Zeek does it itself); workers, proxies and loggers load this
##! script but do nothing.

@load base/frameworks/cluster
@load base/frameworks/input
@load base/frameworks/notice

@load ./main

module ZeekAnom;

export {
	## Name of the input stream that reads the feed.
	const stream_name = "zeekanom_feed" &redef;

	## The feed version this script reads all of: version 2 added the
	## ``dst_net`` column.
	const feed_version = 2;
}

# The raw reader hands each line over as one string.
type Line: record {
	s: string;
};

global feed_line: event(desc: Input::EventDescription, tpe: Input::Event,
    line: string);

# Placeholders of Zeek's ASCII log format, as the sidecar writes them.
const unset_field = "-";
const empty_field = "(empty)";

const count_pat = /[0-9]+/;
const port_pat = /[0-9]{1,5}/;
const real_pat = /-?[0-9]+(\.[0-9]*)?/;
const whole_time_pat = /[0-9]+\.[0-9]{6}/;

# The longest piece of a row kept while waiting for its rest.
const max_piece = 1048576;

# The most the sidecar repeats of a file's end at the start of the next file
# (zeekfeed's maxCarryBytes).
const max_carry = 1048576;

# Where each column is in the current file, by name, from its #fields
# header. The header is read again at the start of every new file.
global columns: table[string] of count;

# The current file's #feed_version (0 until its line is read; a version 1
# feed has none), and whether another version than feed_version was said.
global file_version = 0;
global version_said = F;

# The first piece of a row whose rest has not been read yet.
global piece = "";

# The size of the feed file when Zeek started, how far the reader has got
# into that file, and whether it is still in it: the rows before that size
# were there before Zeek started (see existing_max_age).
global existing_bytes = 0;
global read_bytes = 0;
global in_first_file = T;

# Ids of the entries raised in the last replay_window, which the sidecar's
# repeats (at most ten minutes after a row's first write) must find here.
global raised_ids: set[string] &create_expire=replay_window;

# Ids of the rows in the last max_carry bytes of the feed at startup that
# were not raised for their age: the sidecar's next rotation repeats them in
# the new file, where they must not be raised either.
global skipped_ids: set[string];

# How many of the last raised ids recent_ids keeps, whatever their age: more
# than the rows in max_carry bytes (a row this script raises has at least 39
# bytes), so that every row a rotation repeats finds its id there, or in
# raised_ids, even when the repeat comes more than replay_window after the
# row was raised (a sidecar older than its ten-minute bound on repeats, a
# replay_window redef'd short).
const max_recent = 32768;

# The ids of the last max_recent entries raised, and the same ids by the
# order they were raised in (modulo max_recent), to forget the oldest.
global recent_ids: set[string];
global recent_order: table[count] of string;
global recent_raised = 0;

global transports: table[string] of transport_proto = {
	["tcp"] = tcp,
	["udp"] = udp,
	["icmp"] = icmp,
};

# Undoes the ASCII writer's escaping: every \xNN becomes the byte NN. The
# writer escapes every backslash itself (as \x5c), so a \x in the feed is
# always an escape.
function unescape(s: string): string
	{
	if ( "\\x" !in s )
		return s;

	local parts = split_string_all(s, /\\x[0-9a-fA-F]{2}/);
	local out = "";

	for ( i in parts )
		{
		# Odd elements are the matches of the pattern.
		if ( i % 2 == 1 )
			out += hexstr_to_bytestring(sub_bytes(parts[i], 3, 2));
		else
			out += parts[i];
		}

	return out;
	}

# Remembers the id of an entry raised.
function remember_raised(id: string)
	{
	add raised_ids[id];

	local slot = recent_raised % max_recent;
	if ( slot in recent_order )
		delete recent_ids[recent_order[slot]];

	recent_order[slot] = id;
	add recent_ids[id];
	++recent_raised;
	}

# Whether all of s matches p.
function matches(p: pattern, s: string): bool
	{
	return p == s;
	}

# The raw text of a column of a data row, or the unset placeholder when the
# header has no such column.
function column(row: vector of string, name: string): string
	{
	if ( name !in columns )
		return unset_field;

	local i = columns[name];

	if ( i >= |row| )
		return unset_field;

	return row[i];
	}

# Whether s is a subnet as the sidecar writes one: an address, "/" and a
# prefix length that fits it.
function is_subnet(s: string): bool
	{
	local parts = split_string(s, /\//);
	if ( |parts| != 2
	    || ! is_valid_ip(parts[0])
	    || ! matches(/[0-9]{1,3}/, parts[1]) )
		return F;

	local width = is_v4_addr(to_addr(parts[0])) ? 32 : 128;
	return to_count(parts[1]) <= width;
	}

# A string column's value.
function string_value(raw: string): string
	{
	if ( raw == empty_field )
		return "";

	return unescape(raw);
	}

function time_value(raw: string): time
	{
	return double_to_time(to_double(raw));
	}

# Whether a data row is whole: as many fields as the header, the last (a time)
# being unset or written with all six decimals. The raw reader hands over
# what it has of a line at the end of the file, so a row can come in pieces.
# (A row with more fields is whole too, and wrong.)
function is_whole(row: vector of string): bool
	{
	if ( |row| < |columns| )
		return F;

	local last = row[|row| - 1];
	return |row| > |columns|
	    || last == unset_field
	    || matches(whole_time_pat, last);
	}

# Why a data row cannot become an entry, or "" when it can.
function row_problem(row: vector of string): string
	{
	if ( |row| != |columns| )
		return "wrong number of fields";

	if ( ! matches(real_pat, column(row, "ts")) )
		return "bad ts";

	if ( column(row, "id") == unset_field )
		return "no id";

	if ( string_value(column(row, "rule")) !in rule_notes )
		return "unknown rule";

	if ( ! matches(real_pat, column(row, "risk_score")) )
		return "bad risk_score";

	if ( ! matches(count_pat, column(row, "severity")) )
		return "bad severity";

	if ( column(row, "msg") == unset_field )
		return "no msg";

	for ( name in set("src", "dst") )
		{
		local a = column(row, name);
		if ( a != unset_field && ! is_valid_ip(a) )
			return fmt("bad %s", name);
		}

	local net = column(row, "dst_net");
	if ( net != unset_field && ! is_subnet(net) )
		return "bad dst_net";

	local p = column(row, "dst_p");
	if ( p != unset_field && ( ! matches(port_pat, p) || to_count(p) > 65535 ) )
		return "bad dst_p";

	for ( name in set("start", "end") )
		{
		local t = column(row, name);
		if ( t != unset_field && ! matches(real_pat, t) )
			return fmt("bad %s", name);
		}

	return "";
	}

# Builds the entry of a data row that row_problem accepted.
function entry(row: vector of string): FeedEntry
	{
	local rule = string_value(column(row, "rule"));
	local ts = time_value(column(row, "ts"));
	local id = string_value(column(row, "id"));
	local risk = to_double(column(row, "risk_score"));
	local severity = to_count(column(row, "severity"));
	local msg = string_value(column(row, "msg"));
	local e = FeedEntry($ts=ts, $id=id, $rule=rule, $note=rule_notes[rule],
	    $risk_score=risk, $severity=severity, $msg=msg);

	local raw = column(row, "src");
	if ( raw != unset_field )
		e$src = to_addr(raw);

	raw = column(row, "dst");
	if ( raw != unset_field )
		e$dst = to_addr(raw);

	raw = column(row, "dst_net");
	if ( raw != unset_field )
		e$dst_net = to_subnet(raw);

	local proto = unknown_transport;
	raw = string_value(column(row, "proto"));
	if ( raw in transports )
		{
		proto = transports[raw];
		e$proto = proto;
		}

	raw = column(row, "dst_p");
	if ( raw != unset_field )
		e$dst_p = count_to_port(to_count(raw), proto);

	raw = column(row, "domain");
	if ( raw != unset_field )
		e$domain = string_value(raw);

	raw = column(row, "sub");
	if ( raw != unset_field )
		e$sub = string_value(raw);

	raw = column(row, "uids");
	if ( raw != unset_field )
		{
		local uids: vector of string = vector();
		if ( raw != empty_field )
			{
			local elems = split_string(raw, /,/);
			for ( j in elems )
				uids[|uids|] = unescape(elems[j]);
			}
		e$uids = uids;
		}

	raw = column(row, "start");
	if ( raw != unset_field )
		e$start = time_value(raw);

	raw = column(row, "end");
	if ( raw != unset_field )
		e$end = time_value(raw);

	return e;
	}

# What the notice framework suppresses repeats by: the same rule about the
# same hosts, network, port and domain. Not the entry's id: it names one
# window's detection, and the same activity found again in the next window
# (another id) is a repeat. A beacon to a rotating network has no dst: its
# dst_net tells a second network from the first (feed version 2; from a
# version 1 feed, one host's beacons to networks on one port are one).
function identifier(e: FeedEntry): string
	{
	return cat(e$rule, "|", e?$src ? cat(e$src) : "", "|", e?$dst ? cat(e$dst) : "",
	    "|", e?$dst_net ? cat(e$dst_net) : "", "|", e?$dst_p ? cat(e$dst_p) : "",
	    "|", e?$domain ? e$domain : "");
	}

# Says once what a feed of another version than this script's means.
function say_version(v: count)
	{
	if ( v == feed_version || version_said )
		return;

	version_said = T;
	if ( v < feed_version )
		Reporter::warning(fmt("zeekanom feed: version %d, written by a zeekanom older than this package (version %d): beacons of a host to two networks on one port are suppressed as one notice; upgrade the sidecar",
		    v, feed_version));
	else
		Reporter::warning(fmt("zeekanom feed: version %d, written by a zeekanom newer than this package (version %d): its new columns are not read; upgrade the package",
		    v, feed_version));
	}

# Whether raise_entry is raising a notice, for the Notice::policy hook below.
global raising = F;

# The notice's ts is the feed row's (when the sidecar's evidence ended), not
# the network time at which Zeek read the row: a notice from re-scored
# archives, or read after a stall, keeps the time of what it reports, the
# @timestamp its Elasticsearch copy carries.
function raise_entry(e: FeedEntry)
	{
	local n = Notice::Info($ts=e$ts, $note=e$note, $msg=e$msg,
	    $identifier=identifier(e), $suppress_for=suppress_for);

	if ( e$risk_score > 0.0 )
		n$n = double_to_count(floor(e$risk_score + 0.5));
	if ( e?$sub )
		n$sub = e$sub;
	if ( e?$src )
		n$src = e$src;
	if ( e?$dst )
		n$dst = e$dst;
	if ( e?$dst_p )
		n$p = e$dst_p;
	if ( e?$proto )
		n$proto = e$proto;
	if ( e?$uids && |e$uids| > 0 )
		n$uid = e$uids[0];

	raising = T;
	NOTICE(n);
	raising = F;
	}

# The notice framework suppresses repeats until ts + suppress_for (base/
# frameworks/notice/main.zeek), so the lag of a notice's ts behind network
# time is added to whatever suppress_for the notice policy left it:
# ZeekAnom::suppress_for, Notice::type_suppression_intervals (set by the
# framework's own policy hook, priority 10) or a site's hook. Repeats then
# stay suppressed for that long from when Zeek raised the notice; from the
# row's ts alone, a row older than its interval (re-scored archives) was
# suppressed only until the table's next expiry sweep, seconds. This hook
# runs after the site's own (priority 0 by default).
hook Notice::policy(n: Notice::Info) &priority=-100
	{
	if ( ! raising || n$suppress_for == 0secs )
		return;

	local lag = network_time() - n$ts;
	if ( lag > 0secs )
		n$suppress_for = n$suppress_for + lag;
	}

event ZeekAnom::feed_line(desc: Input::EventDescription, tpe: Input::Event,
    line: string)
	{
	local at = read_bytes;
	if ( in_first_file )
		read_bytes += |line| + 1;

	if ( line != "" && line[0] == "#" )
		{
		# A header after the start: the reader has moved to a new file.
		if ( at > 0 && line == "#separator \\x09" )
			in_first_file = F;

		if ( piece != "" )
			Reporter::warning("zeekanom feed: dropped the start of a row cut short by a new file");

		piece = "";
		local header = split_string(line, /\t/);
		if ( header[0] == "#separator \\x09" )
			file_version = 0;

		if ( header[0] == "#feed_version" )
			{
			if ( |header| == 2 && matches(count_pat, header[1]) )
				file_version = to_count(header[1]);
			else
				{
				# A damaged line says no version: not an older
				# sidecar's (none is version 1). The columns are
				# read by name all the same.
				file_version = feed_version;
				if ( ! version_said )
					{
					version_said = T;
					Reporter::warning("zeekanom feed: unreadable #feed_version line: the feed's columns are read by name from its #fields line");
					}
				}
			}

		if ( header[0] == "#fields" )
			{
			columns = table();
			for ( i in header )
				{
				if ( i > 0 )
					columns[header[i]] = i - 1;
				}

			say_version(file_version == 0 ? 1 : file_version);
			}

		return;
		}

	local joined = piece != "";
	local text = piece + line;
	piece = "";

	if ( text == "" )
		return;

	if ( |columns| == 0 )
		{
		Reporter::warning("zeekanom feed: data row before any #fields header");
		return;
		}

	local row = split_string(text, /\t/);

	if ( ! is_whole(row) )
		{
		# Not whole yet: wait for the rest.
		if ( |text| <= max_piece )
			piece = text;
		else
			Reporter::warning("zeekanom feed: dropped an overlong partial row");

		return;
		}

	local problem = row_problem(row);
	if ( problem != "" && joined )
		{
		# The piece was not the start of this row but a damaged line (one
		# written by hand, or cut short by something else than the
		# sidecar): the line alone may be a good row, which the piece
		# must not take down with it.
		local alone = split_string(line, /\t/);
		if ( is_whole(alone) && row_problem(alone) == "" )
			{
			Reporter::warning("zeekanom feed: dropped a damaged line before a row");
			row = alone;
			problem = "";
			}
		}

	if ( problem != "" )
		{
		Reporter::warning(fmt("zeekanom feed: row skipped: %s", problem));
		return;
		}

	local e = entry(row);

	if ( e$note !in raise_notes )
		return;

	if ( e$risk_score < min_risk_score )
		return;

	if ( in_first_file
	    && at < existing_bytes
	    && ( existing_max_age == 0secs || e$ts < current_time() - existing_max_age ) )
		{
		if ( e$id != "" && at + max_carry >= existing_bytes )
			add skipped_ids[e$id];

		return;
		}

	# An entry without an id cannot be told from a replay: raise it.
	if ( e$id != ""
	    && ( e$id in raised_ids || e$id in recent_ids || e$id in skipped_ids ) )
		return;

	if ( ! hook raise_policy(e) )
		return;

	if ( e$id != "" )
		remember_raised(e$id);

	raise_entry(e);
	}

@if ( ! Cluster::is_enabled() || Cluster::local_node_type() == Cluster::MANAGER )
event zeek_init()
	{
	local size = file_size(feed_path);
	if ( size > 0.0 )
		existing_bytes = double_to_count(size);

	Input::add_event([$source=feed_path, $name=stream_name,
	    $reader=Input::READER_RAW, $mode=Input::STREAM, $fields=Line,
	    $want_record=F, $ev=feed_line]);
	}
@endif
