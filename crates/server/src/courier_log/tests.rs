//! The lines, word for word as Courier-IMAP writes them (imapd,
//! imaplogin, pop3d, pop3login, couriertcpd), and the datagram framing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::syslog::datagram;
use super::*;

const V4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));

fn client() -> Client {
    Client {
        ip: V4,
        port: 50312,
    }
}

fn text(event: Event<'_>) -> String {
    line(&event).1
}

#[test]
fn addresses_are_shown_as_on_courier_s_ipv6_sockets() {
    assert_eq!(ip_field(V4), "::ffff:192.0.2.7");
    // A dual-stack listener's mapped address is the same client.
    let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped());
    assert_eq!(ip_field(mapped), "::ffff:192.0.2.7");
    assert_eq!(ip_field(IpAddr::V6(Ipv6Addr::LOCALHOST)), "::1");
    let v6: IpAddr = "2001:DB8:0:0::1".parse().unwrap();
    assert_eq!(ip_field(v6), "2001:db8::1");
}

#[test]
fn login_lines() {
    let login = |service, tls| {
        text(Event::Login {
            user: "ann",
            client: client(),
            service,
            protocol: "IMAP",
            tls,
        })
    };
    let smap = text(Event::Login {
        user: "ann",
        client: client(),
        service: Service::Imap,
        protocol: "SMAP1",
        tls: false,
    });
    assert_eq!(
        smap,
        "LOGIN, user=ann, ip=[::ffff:192.0.2.7], port=[50312], protocol=SMAP1"
    );
    assert_eq!(
        login(Service::Imap, false),
        "LOGIN, user=ann, ip=[::ffff:192.0.2.7], port=[50312], protocol=IMAP"
    );
    assert_eq!(
        login(Service::Imap, true),
        "LOGIN, user=ann, ip=[::ffff:192.0.2.7], port=[50312], protocol=IMAP, starttls=1"
    );
    assert_eq!(
        login(Service::Pop3, false),
        "LOGIN, user=ann, ip=[::ffff:192.0.2.7], port=[50312]"
    );
    assert_eq!(
        login(Service::Pop3, true),
        "LOGIN, user=ann, ip=[::ffff:192.0.2.7], port=[50312], stls=1"
    );
    assert_eq!(
        line(&Event::Login {
            user: "ann",
            client: client(),
            service: Service::Imap,
            protocol: "IMAP",
            tls: false
        })
        .0,
        Severity::Info
    );
}

#[test]
fn failed_login_lines_keep_the_client_s_text_from_forging_fields() {
    let failed = |user| {
        line(&Event::LoginFailed {
            user,
            client: client(),
        })
    };
    assert_eq!(
        failed("ann"),
        (
            Severity::Info,
            "LOGIN FAILED, user=ann, ip=[::ffff:192.0.2.7], port=[50312]".into()
        )
    );
    // A field of the client's own would be the first ip= fail2ban sees.
    assert_eq!(
        failed("x, ip=[203.0.113.9]").1,
        "LOGIN FAILED, user=x. ip=[203.0.113.9], ip=[::ffff:192.0.2.7], port=[50312]"
    );
    // Control characters and non-ASCII bytes become dots, as Courier
    // does (one per byte).
    assert_eq!(
        failed("a\r\nb\u{e9}").1,
        "LOGIN FAILED, user=a..b.., ip=[::ffff:192.0.2.7], port=[50312]"
    );
    // A long name is cut, never the address after it.
    let long = "u".repeat(5000);
    let line = failed(&long).1;
    assert!(
        line.ends_with(", ip=[::ffff:192.0.2.7], port=[50312]"),
        "{line}"
    );
    assert!(line.len() < 600);
}

#[test]
fn imap_session_ends() {
    let ended = |how, tls| {
        text(Event::Ended {
            how,
            user: "ann",
            client: client(),
            counters: Counters::Imap {
                headers: 35,
                body: 1200,
            },
            rcvd: 120,
            sent: 2400,
            time: 7,
            tls,
        })
    };
    assert_eq!(
        ended(Ending::Logout, false),
        "LOGOUT, user=ann, ip=[::ffff:192.0.2.7], port=[50312], headers=35, body=1200, rcvd=120, sent=2400, time=7"
    );
    assert_eq!(
        ended(Ending::Timeout, true),
        "TIMEOUT, user=ann, ip=[::ffff:192.0.2.7], port=[50312], headers=35, body=1200, rcvd=120, sent=2400, time=7, starttls=1"
    );
    assert!(ended(Ending::Disconnected, false).starts_with("DISCONNECTED, user=ann, "));
}

#[test]
fn pop3_session_ends() {
    let ended = |how, tls| {
        text(Event::Ended {
            how,
            user: "bob",
            client: client(),
            counters: Counters::Pop3 { top: 20, retr: 40 },
            rcvd: 30,
            sent: 300,
            time: 0,
            tls,
        })
    };
    assert_eq!(
        ended(Ending::Logout, true),
        "LOGOUT, user=bob, ip=[::ffff:192.0.2.7], port=[50312], top=20, retr=40, rcvd=30, sent=300, time=0, stls=1"
    );
    assert_eq!(
        ended(Ending::Disconnected, false),
        "DISCONNECTED, user=bob, ip=[::ffff:192.0.2.7], port=[50312], top=20, retr=40, rcvd=30, sent=300, time=0"
    );
}

#[test]
fn connection_and_limit_lines() {
    assert_eq!(
        line(&Event::Connection(client())),
        (
            Severity::Debug,
            "Connection, ip=[::ffff:192.0.2.7], port=[50312]".into()
        )
    );
    assert_eq!(
        line(&Event::AddressLimit(V4)),
        (
            Severity::Alert,
            "Maximum connection limit reached for ::ffff:192.0.2.7".into()
        )
    );
    assert_eq!(
        line(&Event::ServerFull(40)),
        (Severity::Alert, "40 maximum active connections.".into())
    );
}

#[test]
fn program_names_follow_courier_s_start_up_scripts() {
    assert_eq!(Program::of(Service::Imap, false).name(), "imapd");
    assert_eq!(Program::of(Service::Imap, true).name(), "imapd-ssl");
    assert_eq!(Program::of(Service::Pop3, false).name(), "pop3d");
    assert_eq!(Program::of(Service::Pop3, true).name(), "pop3d-ssl");
}

#[test]
fn datagrams_are_what_the_c_library_sends() {
    // mail.info = 2 * 8 + 6; mail.alert = 17; mail.debug = 23.
    assert_eq!(
        datagram(
            Program::Imapd,
            Severity::Info,
            "Dec  4 20:00:00",
            "LOGIN, user=ann"
        ),
        b"<22>Dec  4 20:00:00 imapd: LOGIN, user=ann"
    );
    assert!(
        datagram(Program::Pop3dSsl, Severity::Alert, "s", "x").starts_with(b"<17>s pop3d-ssl: ")
    );
    assert!(datagram(Program::ImapdSsl, Severity::Debug, "s", "x").starts_with(b"<23>"));
}

#[test]
fn connections_that_never_logged_in() {
    assert_eq!(
        line(&Event::LogoutBeforeLogin {
            client: client(),
            rcvd_sent: Some((20, 300)),
        }),
        (
            Severity::Info,
            "LOGOUT, ip=[::ffff:192.0.2.7], port=[50312], rcvd=20, sent=300".into()
        )
    );
    assert_eq!(
        text(Event::LogoutBeforeLogin {
            client: client(),
            rcvd_sent: None,
        }),
        "LOGOUT, ip=[::ffff:192.0.2.7], port=[50312]"
    );
    let disconnected = |tls| {
        line(&Event::DisconnectedBeforeLogin {
            client: client(),
            time: 60,
            tls,
        })
    };
    assert_eq!(
        disconnected(false),
        (
            Severity::Debug,
            "Disconnected, ip=[::ffff:192.0.2.7], port=[50312], time=60".into()
        )
    );
    assert_eq!(
        disconnected(true).1,
        "Disconnected, ip=[::ffff:192.0.2.7], port=[50312], time=60, starttls=1"
    );
}
