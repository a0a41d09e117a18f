//! The two forms pinned: README's "Status" documents them field by field,
//! and scripts, LuCI and tests/netns read them.

use super::*;
use crate::proto::fsm::AdvertDrop;
use crate::proto::wire::RxError;

fn counters() -> InstanceCounters {
    let mut counters = InstanceCounters {
        since: 1_795_737_600,
        master_transitions: 2,
        adverts_rx: 13,
        adverts_tx: 10,
        priority_zero_rx: 1,
        lower_priority_rx: 3,
        ..InstanceCounters::default()
    };
    counters.drops[AdvertDrop::AddressList.index()] = 4;
    counters
}

fn rx() -> RxCounters {
    let mut rx = RxCounters {
        unknown_vrid: 5,
        ..RxCounters::default()
    };
    rx.errors[RxError::Checksum.index()] = 6;
    rx
}

fn snapshot<'a>(
    counters: &'a InstanceCounters,
    rx: &'a RxCounters,
    script: &'a ScriptCounters,
    vips: &'a [IpAddr],
) -> Snapshot<'a> {
    Snapshot {
        instances: vec![InstanceStatus {
            name: "lan",
            interface: "eth0",
            family: Family::Ipv4,
            vrid: 51,
            version: Version::V3,
            state: StateKind::Master,
            in_state: Duration::from_millis(83_456),
            priority: 140,
            base_priority: 150,
            health: Health::Healthy,
            group: Some("gw"),
            master: Some([10, 0, 0, 2].into()),
            vips,
            next_event: Some(Duration::from_millis(42)),
            counters,
        }],
        links: vec![LinkStatus {
            name: "eth0",
            family: Family::Ipv4,
            primary: [10, 0, 0, 2].into(),
            up: true,
            counters: rx,
        }],
        groups: vec![GroupStatus {
            name: "gw",
            state: Some(StateKind::Master),
        }],
        scripts: vec![ScriptStatus {
            name: "ping\"gw",
            state: ScriptState::Ok,
            counters: script,
        }],
        fifo: Some(FifoStatus {
            path: "/run/vrrp.fifo",
            lines_lost: 0,
        }),
        // Without file sync there are no sync records to show.
        #[cfg(not(feature = "sync"))]
        syncs: Vec::new(),
        #[cfg(not(feature = "sync"))]
        sync_files: Vec::new(),
        #[cfg(feature = "sync")]
        syncs: vec![SyncStatus {
            name: "leases",
            instance: "lan",
            port: 5799,
            role: "source",
            drops: vec![("unauthenticated", 2), ("replayed", 1)],
        }],
        #[cfg(feature = "sync")]
        sync_files: vec![SyncFileStatus {
            sync: "leases",
            path: "/tmp/dhcp.leases",
            digest: Some("e3b0c442".into()),
            last_sync: Some(1_795_737_600),
            bytes_sent: 2048,
            bytes_received: 96,
            errors: 0,
        }],
    }
}

const VIPS: [IpAddr; 2] = [
    IpAddr::V4(core::net::Ipv4Addr::new(10, 0, 0, 1)),
    IpAddr::V4(core::net::Ipv4Addr::new(10, 0, 0, 100)),
];

/// The sync records (empty lists in a build without file sync).
#[cfg(feature = "sync")]
const SYNC_JSON: &str = concat!(
    r#""syncs":[{"name":"leases","instance":"lan","port":5799,"role":"source","#,
    r#""statistics":{"unauthenticated":2,"replayed":1}}],"#,
    r#""sync-files":[{"path":"/tmp/dhcp.leases","sync":"leases","digest":"e3b0c442","#,
    r#""last-sync":"2026-11-27T00:00:00Z","statistics":{"bytes-sent":2048,"#,
    r#""bytes-received":96,"errors":0}}]}"#,
    "\n"
);
#[cfg(not(feature = "sync"))]
const SYNC_JSON: &str = concat!(r#""syncs":[],"sync-files":[]}"#, "\n");

#[test]
fn json_is_the_documented_document() {
    let (counters, rx, script) = (counters(), rx(), ScriptCounters::default());
    let json = snapshot(&counters, &rx, &script, &VIPS).json();
    let json = json.strip_suffix(SYNC_JSON).expect("the sync records last");
    assert_eq!(
        json,
        concat!(
            r#"{"instances":[{"name":"lan","interface":"eth0","vrid":51,"family":"ipv4","version":3,"#,
            r#""state":"MASTER","in-state-ms":83456,"priority":140,"base-priority":150,"health":"ok","#,
            r#""group":"gw","master":"10.0.0.2","vips":["10.0.0.1","10.0.0.100"],"next-event-ms":42,"#,
            r#""statistics":{"discontinuity-datetime":"2026-11-27T00:00:00Z","master-transitions":2,"#,
            r#""advertisement-rcvd":13,"advertisement-sent":10,"priority-zero-pkts-rcvd":1,"#,
            r#""priority-zero-pkts-sent":0,"version-errors":0,"interval-errors":0,"#,
            r#""address-list-errors":4,"owner-ignored-pkts":0,"auth-errors":0,"not-a-peer-pkts":0,"#,
            r#""lower-priority-pkts-rcvd":3,"send-errors":0,"checksum-form-mismatches":0}}],"#,
            r#""interfaces":[{"name":"eth0","family":"ipv4","primary":"10.0.0.2","link":"up","#,
            r#""statistics":{"vrid-errors":5,"packet-length-errors":0,"oversized-pkts":0,"#,
            r#""ip-header-errors":0,"ip-ttl-errors":0,"version-errors":0,"invalid-type-pkts-rcvd":0,"#,
            r#""address-count-errors":0,"checksum-errors":6}}],"#,
            r#""groups":[{"name":"gw","state":"MASTER"}],"#,
            r#""scripts":[{"name":"ping\"gw","state":"OK","runs":0,"failures":0,"timeouts":0,"skipped":0}],"#,
            r#""notify-fifo":{"path":"/run/vrrp.fifo","lines-lost":0},"#,
        )
    );
}

#[test]
fn absent_values_are_null_in_json_and_none_in_text() {
    let (counters, rx, script) = (counters(), rx(), ScriptCounters::default());
    let mut snapshot = snapshot(&counters, &rx, &script, &[]);
    let instance = &mut snapshot.instances[0];
    instance.state = StateKind::Initialize;
    (instance.group, instance.master, instance.next_event) = (None, None, None);
    snapshot.groups[0].state = None;
    snapshot.fifo = None;
    #[cfg(feature = "sync")]
    {
        snapshot.sync_files[0].digest = None;
        snapshot.sync_files[0].last_sync = None;
    }
    let json = snapshot.json();
    for part in [
        r#""state":"INIT""#,
        r#""group":null,"master":null,"vips":[],"next-event-ms":null,"#,
        r#""groups":[{"name":"gw","state":null}]"#,
        r#""notify-fifo":null,"#,
        #[cfg(feature = "sync")]
        r#""digest":null,"last-sync":null,"#,
    ] {
        assert!(json.contains(part), "{part} in {json}");
    }
    let tables = snapshot.tables();
    let row = tables.lines().nth(1).unwrap();
    assert!(row.ends_with(" ok      none   none    none  none"), "{row}");
}

#[test]
fn tables_align_fields_and_put_counters_one_per_row() {
    let (counters, rx, script) = (counters(), rx(), ScriptCounters::default());
    let tables = snapshot(&counters, &rx, &script, &VIPS).tables();
    let lines: Vec<&str> = tables.lines().collect();
    assert_eq!(
        lines[0],
        "INSTANCE  INTERFACE  VRID  FAMILY  VERSION  STATE   IN-STATE-MS  PRIORITY  BASE-PRIORITY  HEALTH  GROUP  MASTER    VIPS                 NEXT-EVENT-MS"
    );
    assert_eq!(
        lines[1],
        "lan       eth0       51    ipv4    3        MASTER  83.456s      140       150            ok      gw     10.0.0.2  10.0.0.1,10.0.0.100  0.042s"
    );
    assert_eq!(lines[2], "");
    assert_eq!(lines[3], "instance                  lan");
    assert_eq!(lines[4], "discontinuity-datetime    2026-11-27T00:00:00Z");
    assert!(
        tables.contains("\naddress-list-errors       4\n"),
        "{tables}"
    );
    assert!(
        tables.contains("\nINTERFACE  FAMILY  PRIMARY   LINK\neth0       ipv4    10.0.0.2  up\n"),
        "{tables}"
    );
    assert!(
        tables.contains("\ninterface               eth0\nvrid-errors             5\n"),
        "{tables}"
    );
    assert!(
        tables.contains("\nGROUP  STATE\ngw     MASTER\n"),
        "{tables}"
    );
    assert!(tables.contains("\nSCRIPT   STATE  RUNS  FAILURES  TIMEOUTS  SKIPPED\nping\"gw  OK     0     0         0         0\n"), "{tables}");
    assert!(
        tables.contains("\nNOTIFY-FIFO     LINES-LOST\n/run/vrrp.fifo  0\n"),
        "{tables}"
    );
    #[cfg(feature = "sync")]
    assert!(
        tables.contains("\nSYNC    INSTANCE  PORT  ROLE\nleases  lan       5799  source\n"),
        "{tables}"
    );
    #[cfg(feature = "sync")]
    assert!(
        tables.contains("\nsync             leases\nunauthenticated  2\nreplayed         1\n"),
        "{tables}"
    );
    #[cfg(feature = "sync")]
    assert!(tables.contains("\nSYNC-FILE         SYNC    DIGEST    LAST-SYNC\n/tmp/dhcp.leases  leases  e3b0c442  2026-11-27T00:00:00Z\n"), "{tables}");
}

#[test]
fn dates_are_rfc_3339_utc() {
    for (epoch, text) in [
        (0, "1970-01-01T00:00:00Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (1_795_787_999, "2026-11-27T13:59:59Z"),
        (4_107_542_400, "2100-03-01T00:00:00Z"),
    ] {
        let mut out = String::new();
        render::write_date(&mut out, epoch).unwrap();
        assert_eq!(out, text);
    }
}

#[test]
fn json_strings_escape_quotes_backslashes_and_control_characters() {
    let (counters, rx, script) = (counters(), rx(), ScriptCounters::default());
    let mut snapshot = snapshot(&counters, &rx, &script, &VIPS);
    snapshot.scripts[0].name = "a\"b\\c\n\u{1f}é";
    let json = snapshot.json();
    assert!(json.contains(r#""name":"a\"b\\c\u000a\u001fé""#), "{json}");
}
