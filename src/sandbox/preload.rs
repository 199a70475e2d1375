//! Realistic leads for `--preload N`: companies, offers, contacts and statuses spread over the
//! last 90 days, about one in six an unassigned marketing lead (no partnerLeadOpportunityId)
//! waiting for a partner to pick it up. Everything but the clock follows the seed.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, json};

use super::store::{Record, timestamp};
use crate::api::contract::enums;

const COMPANIES: &[(&str, &str, &str)] = &[
    ("Kraillinger Maschinenbau GmbH", "Stockdorf", "Germany"),
    ("Atelier Mécanique de Lyon", "Lyon", "France"),
    ("Nordic Hydraulics AB", "Göteborg", "Sweden"),
    ("Brescia Stampi S.p.A.", "Brescia", "Italy"),
    (
        "Pacific Aero Components Inc.",
        "San Francisco",
        "United States",
    ),
    ("Osaka Precision K.K.", "Osaka", "Japan"),
    ("Zaragoza Moldes S.L.", "Zaragoza", "Spain"),
    ("Delft Marine Systems B.V.", "Delft", "Netherlands"),
    ("Wrocław Automotive Sp. z o.o.", "Wrocław", "Poland"),
    ("Bangalore MedTech Pvt Ltd", "Bengaluru", "India"),
    ("Québec Composites Ltée", "Québec", "Canada"),
    ("Graz Fahrzeugtechnik AG", "Graz", "Austria"),
];

const FIRST: &[&str] = &[
    "Anna", "Lukas", "Marie", "Jean", "Sofia", "Kenji", "Olivia", "Mateo", "Ingrid", "Priya",
];
const LAST: &[&str] = &[
    "Müller",
    "Dubois",
    "Johansson",
    "Rossi",
    "Smith",
    "Tanaka",
    "García",
    "de Vries",
    "Nowak",
    "Sharma",
];
const OFFERS: &[&str] = &[
    "3DEXPERIENCE_Design/Engineering_On_Premise",
    "MDMIND00022_PUBL_ISE00002687_IPE00021337",
    "SOLIDWORKS_Premium_Term",
    "SIMULIA_Abaqus_Token",
    "DELMIA_Apriso_Cloud",
];
const CURRENCIES: &[&str] = &["EUR", "EUR", "EUR", "USD", "GBP", "SEK", "JPY"];
const CAMPAIGNS: &[&str] = &["OC2DE17TAQ1C13018", "OC2FR24WEB0001", "OC2US25EXPO0042"];

fn pick<'a>(rng: &mut fastrand::Rng, items: &[&'a str]) -> &'a str {
    items[rng.usize(..items.len())]
}

fn ds_id_from(rng: &mut fastrand::Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut s = String::with_capacity(11);
    for i in 0..10 {
        if i == 4 {
            s.push('-');
        }
        s.push(char::from(ALPHABET[rng.usize(..ALPHABET.len())]));
    }
    s
}

/// A new id shaped like `9YEL-Y3W56Q`, unused in `taken`.
pub fn new_ds_id(rng: &mut fastrand::Rng, taken: impl Fn(&str) -> bool) -> String {
    loop {
        let id = ds_id_from(rng);
        if !taken(&id) {
            return id;
        }
    }
}

/// Lead number `i` of a preload, modified at some point in the 90 days before `now`.
pub fn lead(rng: &mut fastrand::Rng, i: usize, now: DateTime<Utc>, ds_id: String) -> Record {
    let (company, city, country) = COMPANIES[rng.usize(..COMPANIES.len())];
    // Every sixth lead is an unassigned marketing lead: a fixed share, so tests can count on it.
    let unassigned = i % 6 == 5;
    let status = if unassigned {
        "LEAD_OPEN"
    } else {
        pick(rng, enums::STATUS)
    };
    let modified = now - Duration::milliseconds(rng.i64(0..90 * 24 * 3600 * 1000));
    let created = modified - Duration::milliseconds(rng.i64(0..30 * 24 * 3600 * 1000));
    let close = modified + Duration::days(rng.i64(14..240));
    let forecast = enums::forecast_category_at_creation(
        status,
        Some(pick(rng, enums::FORECAST_CATEGORY_OPEN_OPPY)),
    )
    .unwrap_or("EMPTY");
    let mut lead = Map::new();
    lead.insert(
        "name".into(),
        json!(format!(
            "{company}: {} rollout",
            pick(rng, &["PLM", "CAD", "Simulation", "MES"])
        )),
    );
    lead.insert("dsOwnerEmail".into(), json!("psm.primary@3ds.com"));
    lead.insert("status".into(), json!(status));
    lead.insert("forecastCategory".into(), json!(forecast));
    lead.insert("closeDate".into(), json!(timestamp(close)));
    lead.insert("currency".into(), json!(pick(rng, CURRENCIES)));
    lead.insert("reasonWon".into(), json!([enums::DEFAULT_REASON_WON]));
    lead.insert("reasonLost".into(), json!([enums::DEFAULT_REASON_LOST]));
    if unassigned {
        lead.insert("cometCampaignCode".into(), json!(pick(rng, CAMPAIGNS)));
        lead.insert(
            "description".into(),
            json!("Marketing lead from a web campaign"),
        );
    } else {
        lead.insert(
            "nextMilestone".into(),
            json!(pick(
                rng,
                &["Customer Demo", "Proposal", "Benchmark", "Negotiation"]
            )),
        );
        lead.insert(
            "nextMilestoneDate".into(),
            json!(timestamp(modified + Duration::days(rng.i64(1..30)))),
        );
    }
    let lines = (0..rng.usize(1..=3))
        .map(|_| {
            let rt = pick(rng, enums::REVENUE_TYPE_V1);
            let mut l = Map::new();
            l.insert("amount".into(), json!(rng.u32(5..500) * 100));
            l.insert("offerNameId".into(), json!(pick(rng, OFFERS)));
            l.insert("revenueType".into(), json!(rt));
            if rt != "PxC" {
                let start = close.date_naive();
                l.insert("startDate".into(), json!(start.to_string()));
                l.insert(
                    "endDate".into(),
                    json!((start + Duration::days(365)).to_string()),
                );
            }
            l
        })
        .collect();
    let mut le = Map::new();
    le.insert("name".into(), json!(company));
    le.insert("city".into(), json!(city));
    le.insert("country".into(), json!(country));
    let (first, last) = (pick(rng, FIRST), pick(rng, LAST));
    let contact = json!({
        "email": format!("{}.{}@example.com", first.to_lowercase(), last.to_lowercase().replace(' ', "")),
        "firstName": first,
        "lastName": last,
        "phoneNumber": format!("+49 89 {:07}", rng.u32(1_000_000..9_999_999)),
        "salutation": pick(rng, &["Mr", "Ms", "Dr"]),
    });
    let mut read_only = Map::new();
    for key in [
        "sboIndicator",
        "growthType",
        "leadPriority",
        "levelOfInterest",
        "partnerImportMode",
    ] {
        read_only.insert(key.into(), json!("EMPTY"));
    }
    if !enums::LEAD_STATUSES.contains(&status) {
        read_only.insert("approvalStatus".into(), json!("PRE_APPROVED"));
        read_only.insert(
            "engagementType".into(),
            json!(pick(rng, &["EXTEND", "NEW"])),
        );
    }
    Record {
        ds_id,
        partner_lead_id: (!unassigned).then(|| format!("SBX-{:06}", i + 1)),
        lead,
        offer_lines: lines,
        legal_entity: le,
        customer_contacts: vec![contact],
        partner_contacts: if unassigned {
            vec![]
        } else {
            vec![
                json!({"salesRepEmail":"sales.rep@partner.example","salesRepFirstName":"Sam","salesRepLastName":"Rep"}),
            ]
        },
        read_only,
        created,
        modified,
    }
}
