##! Notice types and options for the notices of the zeekanom sidecar.
##!
##! zeekanom reads Zeek's logs, scores hosts against their own baselines
##! and writes what it finds to a feed file. :doc:`feed.zeek` reads that
##! feed and raises each entry as a notice of one of the types below, so the
##! notice framework's policy hooks, suppression and actions apply to them as
##! to any other notice.

@load base/frameworks/notice

module ZeekAnom;

export {
	redef enum Notice::Type += {
		## A host contacted many destinations on the same port
		## (rule ``scan.horizontal``).
		Horizontal_Scan,
		## A host contacted many ports on one destination
		## (rule ``scan.vertical``).
		Vertical_Scan,
		## A host probed destinations or ports too slowly for
		## per-window counts to see it (rule ``scan.slow``).
		Slow_Scan,
		## A flood against one destination and port (rule
		## ``dos.fanin``): many sources (*sub* ``distributed``), one
		## loud source (``single_source``) or one connection of many
		## packets and no reply (``one_way_flow``).
		DoS_FanIn,
		## A host connected to a destination at regular intervals, as
		## malware calling home does (rule ``beacon``).
		Beaconing,
		## DNS queries whose names carry data: long, high-entropy
		## labels under one domain (rule ``dns.tunnel``).
		DNS_Tunnel,
		## DNS names that look algorithmically generated
		## (rule ``dns.dga``).
		DNS_DGA,
		## The same, queried too slowly for any short window to see
		## them: over an hour (rule ``dns.dga_slow``).
		DNS_Slow_DGA,
		## Many random names under one domain that exist nowhere, from
		## one client or many: a flood against the domain's name
		## servers, DNS water torture (rule ``dns.random_subdomain``).
		DNS_Random_Subdomain,
		## A host sent far more data out than its baseline, or far more
		## to one destination than its usual largest (*sub*
		## ``destination``) (rule ``exfiltration``).
		Exfiltration,
		## A connection lasted longer than the sidecar's threshold (one
		## hour by default), or is still open past it (*sub* ``open``)
		## (rule ``long_connection``).
		Long_Connection,
		## A host was active at an hour of the week it usually is not
		## (rule ``contextual.off_hours``).
		Off_Hours_Activity,
		## A host's behaviour is far from its baseline over many
		## features at once (rule ``outlier.multivariate``).
		Multivariate_Outlier,
		## The sidecar's trained classifier flagged the host
		## (rule ``supervised.classifier``).
		Supervised_Detection,
	};

	## The notice type raised for each rule name the sidecar writes in the
	## feed's ``rule`` column. Entries with a rule not in this table are
	## dropped with a reporter warning.
	const rule_notes: table[string] of Notice::Type = {
		["scan.horizontal"] = Horizontal_Scan,
		["scan.vertical"] = Vertical_Scan,
		["scan.slow"] = Slow_Scan,
		["dos.fanin"] = DoS_FanIn,
		["beacon"] = Beaconing,
		["dns.tunnel"] = DNS_Tunnel,
		["dns.dga"] = DNS_DGA,
		["dns.dga_slow"] = DNS_Slow_DGA,
		["dns.random_subdomain"] = DNS_Random_Subdomain,
		["exfiltration"] = Exfiltration,
		["long_connection"] = Long_Connection,
		["contextual.off_hours"] = Off_Hours_Activity,
		["outlier.multivariate"] = Multivariate_Outlier,
		["supervised.classifier"] = Supervised_Detection,
	} &redef;

	## One row of the feed file, in the order of its ``#fields`` header.
	## The sidecar writes the file in Zeek's ASCII log format
	## (``#path zeekanom_feed``), so ``zeek-cut`` reads it too.
	type FeedEntry: record {
		## When the sidecar's detector fired (event time).
		ts: time;
		## The notice's deterministic id: the same detection always
		## has the same id, so a row read again within
		## :zeek:see:`ZeekAnom::replay_window` raises nothing twice.
		id: string;
		## The rule name, e.g. ``scan.horizontal``.
		rule: string;
		## The notice type, taken from :zeek:see:`ZeekAnom::rule_notes`
		## for *rule*, so that a redef there remaps a rule. (The feed's
		## own ``note`` column carries the sidecar's mapping, for
		## readers of the file other than this script.)
		note: Notice::Type;
		## Risk from 0 to 100.
		risk_score: double;
		## 21, 47, 73 or 99: low, medium, high, critical.
		severity: count;
		## The host the notice is about.
		src: addr &optional;
		## The destination, when there is one.
		dst: addr &optional;
		## The destination network of a notice about several
		## destinations in one network, which has no *dst* (a beacon to
		## a rotating /24 or /64). Feed version 2 and later; unset in a
		## version 1 feed.
		dst_net: subnet &optional;
		## The destination port, when there is one.
		dst_p: port &optional;
		## The transport of *dst_p*.
		proto: transport_proto &optional;
		## The destination's DNS name, when there is one.
		domain: string &optional;
		## Human-readable message.
		msg: string;
		## The notice's sub-kind, where its rule has one (e.g.
		## ``single_source`` or ``distributed`` for ``dos.fanin``,
		## ``open`` for a ``long_connection`` still open).
		sub: string &optional;
		## Connection uids of some of the evidence, the first being the
		## most telling.
		uids: vector of string &optional;
		## Start of the evidence window.
		start: time &optional;
		## End of the evidence window.
		end: time &optional;
	};

	## The feed file the sidecar writes (its ``[output.zeekfeed] path``).
	const feed_path = "/var/lib/zeekanom/zeekanom_feed.log" &redef;

	## The notice types to raise. Remove a type to stop raising it without
	## touching the sidecar.
	const raise_notes: set[Notice::Type] = {
		Horizontal_Scan,
		Vertical_Scan,
		Slow_Scan,
		DoS_FanIn,
		Beaconing,
		DNS_Tunnel,
		DNS_DGA,
		DNS_Slow_DGA,
		DNS_Random_Subdomain,
		Exfiltration,
		Long_Connection,
		Off_Hours_Activity,
		Multivariate_Outlier,
		Supervised_Detection,
	} &redef;

	## Entries with a lower risk score (0 to 100) are not raised.
	const min_risk_score = 0.0 &redef;

	## How long the notice framework suppresses a repeat of a notice with
	## the same rule, source, destination, destination network, port and
	## domain, from when Zeek raised it (the row's lag behind network time is added, after the
	## notice policy: see :doc:`feed.zeek`).
	## :zeek:see:`Notice::type_suppression_intervals` or a
	## :zeek:see:`Notice::policy` hook setting *suppress_for* override it
	## for a type, as for any notice.
	const suppress_for = 1hr &redef;

	## When Zeek starts, the raw reader reads the current feed file from
	## its start. Of the rows that were already in it, only those whose
	## *ts* is younger than this (by the wall clock) are raised: a restart
	## does not raise the previous run's older notices again (those of its
	## last *existing_max_age* it does), and the rows the sidecar wrote
	## while Zeek was down are raised if their *ts* is younger than this
	## when Zeek starts. If the sidecar rotated the feed meanwhile, the
	## rotated-away rows are read only as far as the new file repeats
	## them: its rows first written less than ten minutes before the
	## rotation, within the last quarter of ``max_bytes`` (at most 1 MiB),
	## which with this default are all the rows young enough.
	## 0secs raises none of them. Rows written after Zeek started are
	## always raised, however old their *ts* (replays of old logs).
	const existing_max_age = 10min &redef;

	## How long the id of a raised entry is remembered so that the same
	## entry read twice (the sidecar repeats the last rows of a rotated
	## feed file in the new one, those it first wrote less than ten
	## minutes before) raises one notice. The ids of the last 32768
	## entries raised are also kept, whatever their age, which covers
	## every row a rotation repeats.
	const replay_window = 1hr &redef;

	## Applied to every entry that passed the filters above, right before
	## it is raised. Break from the hook to drop the entry.
	global raise_policy: hook(e: FeedEntry);
}
