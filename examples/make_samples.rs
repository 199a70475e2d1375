//! Regenerates the bundled samples in `samples/`: each as XLSX (real date cells, numbers as
//! numbers, ids and zip codes as text) and as the semicolon-separated Windows-1252 CSV a
//! European Excel saves (dates as DD.MM.YYYY or DD/MM/YYYY text, decimal commas). Each sample
//! has a few deliberately wrong rows; the golden tests pin what leadsheet says about them.
//!
//!     cargo run --example make_samples
//!
//! The update sample addresses leads of `leadsheet sandbox --preload 12 --seed 1`, so that it
//! can be imported against the sandbox as is.

use std::path::Path;

use chrono::NaiveDate;
use rust_xlsxwriter::{Format, Workbook};

/// A sample cell: how it goes into the XLSX and how into the CSV.
#[derive(Clone)]
enum V {
    E,
    T(&'static str),
    S(String),
    /// A number; the CSV shows it with the given text (decimal commas).
    N(f64, &'static str),
    /// A date; the CSV shows it with the given text.
    D(&'static str, &'static str),
    /// A date-time (YYYY-MM-DD HH:MM); the CSV shows it with the given text.
    Dt(&'static str, &'static str),
}
use V::*;

fn write(name: &str, headers: &[&str], rows: &[Vec<V>]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    std::fs::create_dir_all(&dir).unwrap();
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("dd.mm.yyyy");
    let datetime = Format::new().set_num_format("dd.mm.yyyy hh:mm");
    let bold = Format::new().set_bold();
    let ws = book.add_worksheet().set_name("Pipeline").unwrap();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold).unwrap();
        ws.set_column_width(c as u16, (h.len() as f64 + 6.0).max(12.0))
            .unwrap();
    }
    let mut csv = String::new();
    csv.push_str(&headers.join(";"));
    csv.push_str("\r\n");
    for (r, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), headers.len(), "{name} row {}", r + 2);
        let r = r as u32 + 1;
        let mut fields = Vec::new();
        for (c, v) in row.iter().enumerate() {
            let c = c as u16;
            let text = match v {
                E => String::new(),
                T(s) => {
                    ws.write_string(r, c, *s).unwrap();
                    s.to_string()
                }
                S(s) => {
                    ws.write_string(r, c, s).unwrap();
                    s.clone()
                }
                N(n, shown) => {
                    ws.write_number(r, c, *n).unwrap();
                    shown.to_string()
                }
                D(iso, shown) => {
                    let d = NaiveDate::parse_from_str(iso, "%Y-%m-%d").unwrap();
                    ws.write_datetime_with_format(r, c, d, &date).unwrap();
                    shown.to_string()
                }
                Dt(iso, shown) => {
                    let d = chrono::NaiveDateTime::parse_from_str(iso, "%Y-%m-%d %H:%M").unwrap();
                    ws.write_datetime_with_format(r, c, d, &datetime).unwrap();
                    shown.to_string()
                }
            };
            fields.push(if text.contains(';') || text.contains('"') {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text
            });
        }
        csv.push_str(&fields.join(";"));
        csv.push_str("\r\n");
    }
    book.save(dir.join(format!("{name}.xlsx"))).unwrap();
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&csv);
    assert!(!unmappable, "{name}: text outside Windows-1252");
    std::fs::write(dir.join(format!("{name}.csv")), &bytes).unwrap();
    println!(
        "wrote samples/{name}.xlsx and samples/{name}.csv ({} rows)",
        rows.len()
    );
}

fn create_one_row() {
    let headers = [
        "CRM ID",
        "Opportunity",
        "Stage",
        "Forecast",
        "Close Date",
        "Currency",
        "Account",
        "Street",
        "ZIP",
        "City",
        "Country",
        "VAT",
        "Contact First Name",
        "Contact Last Name",
        "Contact E-Mail",
        "Contact Phone",
        "Offer 1",
        "Offer 1 Amount",
        "Offer 1 Type",
        "Offer 2",
        "Offer 2 Amount",
        "Offer 2 Type",
        "Competitors",
        "Description",
    ];
    let rows = vec![
        vec![
            T("CRM-2026-0001"),
            T("CATIA rollout Stockdorf"),
            T("Prospect"),
            E,
            D("2026-06-30", "30.06.2026"),
            T("EUR"),
            T("Kraillinger Maschinenbau GmbH"),
            T("Kraillinger Straße 5"),
            T("82131"),
            T("Stockdorf"),
            T("Germany"),
            T("DE128212199"),
            T("Anna"),
            T("Müller"),
            T("anna.mueller@kraillinger.example"),
            T("+49 89 1234567"),
            T("3DEXPERIENCE_Design/Engineering_On_Premise"),
            N(13800.5, "13.800,50"),
            T("Perpetual"),
            E,
            E,
            E,
            T("Siemens;PTC"),
            T("Pilot project, phase 1"),
        ],
        vec![
            T("CRM-2026-0002"),
            T("SOLIDWORKS Premium Dresden"),
            T("Open"),
            T("Commit"),
            D("2026-09-15", "15.09.2026"),
            T("EUR"),
            T("Präzisionswerk Dresden AG"),
            E,
            T("01069"),
            T("Dresden"),
            T("Germany"),
            E,
            T("Jörg"),
            T("Weiß"),
            T("joerg.weiss@pwd.example"),
            T("0351 987654"),
            T("SOLIDWORKS_Premium_Term"),
            N(5490.0, "5490"),
            T("Yearly rental"),
            T("SIMULIA_Abaqus_Token"),
            N(12000.0, "12.000"),
            T("Perpetual"),
            E,
            E,
        ],
        vec![
            T("CRM-2026-0003"),
            T("Simulation Lyon"),
            T("Validated"),
            T("Upside"),
            D("2026-12-31", "31.12.2026"),
            T("EUR"),
            T("Atelier Mécanique de Lyon"),
            T("12 rue de la République"),
            T("69002"),
            T("Lyon"),
            T("France"),
            T("FR40303265045"),
            T("Élodie"),
            T("Garçon"),
            T("elodie.garcon@aml.example"),
            T("+33 4 72 00 00 00"),
            T("SIMULIA_Abaqus_Token"),
            N(24000.0, "24.000"),
            T("Quarterly rental"),
            E,
            E,
            E,
            T("Ansys"),
            E,
        ],
        vec![
            T("CRM-2026-0004"),
            T("Apriso for Graz plant"),
            T("Closed Won"),
            E,
            D("2026-03-01", "01.03.2026"),
            T("EUR"),
            T("Graz Fahrzeugtechnik AG"),
            E,
            T("8010"),
            T("Graz"),
            T("Austria"),
            E,
            T("Lukas"),
            T("Huber"),
            T("l.huber@gft.example"),
            E,
            T("DELMIA_Apriso_Cloud"),
            N(88500.0, "88.500"),
            T("Perpetual"),
            E,
            E,
            E,
            E,
            T("Signed in Q1"),
        ],
        // Wrong: 31 February does not exist.
        vec![
            T("CRM-2026-0005"),
            T("Hydraulics upgrade"),
            T("Qualified"),
            E,
            T("31.02.2026"),
            T("EUR"),
            T("Nordic Hydraulics AB"),
            E,
            T("41755"),
            T("Göteborg"),
            T("Sweden"),
            E,
            T("Ingrid"),
            T("Johansson"),
            T("ingrid.johansson@nordic.example"),
            E,
            T("SOLIDWORKS_Premium_Term"),
            N(7200.0, "7.200"),
            T("Perpetual"),
            E,
            E,
            E,
            E,
            E,
        ],
        // Wrong: "Euro" is not an ISO 4217 code.
        vec![
            T("CRM-2026-0006"),
            T("Mould design Brescia"),
            T("Open"),
            T("Commit"),
            D("2026-11-30", "30.11.2026"),
            T("Euro"),
            T("Brescia Stampi S.p.A."),
            E,
            T("25121"),
            T("Brescia"),
            T("Italy"),
            E,
            T("Sofia"),
            T("Rossi"),
            T("sofia.rossi@stampi.example"),
            E,
            T("3DEXPERIENCE_Design/Engineering_On_Premise"),
            N(31000.0, "31.000"),
            T("Perpetual"),
            E,
            E,
            E,
            E,
            E,
        ],
        // Wrong: "Negotiation" is neither mapped nor a 3DS status.
        vec![
            T("CRM-2026-0007"),
            T("Marine systems PLM"),
            T("Negotiation"),
            E,
            D("2026-08-31", "31.08.2026"),
            T("EUR"),
            T("Delft Marine Systems B.V."),
            E,
            T("2628"),
            T("Delft"),
            T("Netherlands"),
            E,
            T("Pieter"),
            T("de Vries"),
            T("pieter.devries@dms.example"),
            E,
            T("ENOVIA_Collaborative_Cloud"),
            N(15500.0, "15.500"),
            T("Yearly rental"),
            E,
            E,
            E,
            E,
            E,
        ],
        // Wrong: no city, and the contact e-mail has no @.
        vec![
            T("CRM-2026-0008"),
            T("Automotive tooling Kraków"),
            T("Prospect"),
            E,
            D("2026-10-15", "15.10.2026"),
            T("EUR"),
            T("Kraków Automotive Sp. z o.o."),
            E,
            T("30-001"),
            E,
            T("Poland"),
            E,
            T("Tomasz"),
            T("Nowak"),
            T("t.nowak(at)wa.example"),
            E,
            T("CATIA_Design_Term"),
            N(9900.0, "9.900"),
            T("Yearly rental"),
            E,
            E,
            E,
            E,
            E,
        ],
        // A warning only: the forecast category of a lead stage is ignored by 3DS.
        vec![
            T("CRM-2026-0009"),
            T("Hydraulics PLM Göteborg"),
            T("Accepted"),
            T("Commit"),
            D("2026-07-31", "31.07.2026"),
            T("SEK"),
            T("Nordic Hydraulics AB"),
            T("Lindholmspiren 7"),
            T("41756"),
            T("Göteborg"),
            T("Sweden"),
            T("SE556677889901"),
            T("Karin"),
            T("Lind"),
            T("karin.lind@nordic.example"),
            E,
            T("ENOVIA_Collaborative_Cloud"),
            N(250000.0, "250.000"),
            T("Perpetual"),
            E,
            E,
            E,
            T("Aras"),
            E,
        ],
        vec![
            T("CRM-2026-0010"),
            T("Composite wing design"),
            T("Open"),
            T("Longshot"),
            D("2026-10-01", "2026-10-01"),
            T("USD"),
            T("Pacific Aero Components Inc."),
            E,
            T("94105"),
            T("San Francisco"),
            T("United States"),
            E,
            T("John"),
            T("Doe"),
            T("john.doe@pac.example"),
            T("(555) 555-1234"),
            T("MDMIND00022_PUBL_ISE00002687_IPE00021337"),
            N(10000.0, "10000"),
            T("Perpetual"),
            T("CATIA_Design_Term"),
            N(11.0, "11"),
            T("Yearly rental"),
            E,
            E,
        ],
    ];
    write("create-one-row", &headers, &rows);
}

fn grouped_rows() {
    let headers = [
        "Opportunity ID",
        "Opportunity Name",
        "Phase",
        "Closing",
        "Devise",
        "Client",
        "Code Postal",
        "Ville",
        "Pays",
        "Offer",
        "Amount",
        "Licence",
        "Start",
        "End",
        "Contact Prénom",
        "Contact Nom",
        "Contact Email",
        "Next Step",
        "Next Step Date",
        "Loss Reasons",
        "Sales Rep First",
        "Sales Rep Last",
        "Sales Rep Email",
    ];
    let lead101 = |offer: &'static str,
                   amount: V,
                   licence: &'static str,
                   start: V,
                   end: V,
                   contact: [V; 3]| {
        let [cf, cl, ce] = contact;
        vec![
            T("OPP-FR-101"),
            T("Plateforme 3DEXPERIENCE"),
            T("Opportunité"),
            D("2026-09-30", "30/09/2026"),
            T("EUR"),
            T("Aéro Composites SAS"),
            T("31000"),
            T("Toulouse"),
            T("France"),
            T(offer),
            amount,
            T(licence),
            start,
            end,
            cf,
            cl,
            ce,
            T("Démo client"),
            Dt("2026-07-15 10:00", "15/07/2026 10:00"),
            E,
            T("Hugo"),
            T("Martin"),
            T("hugo.martin@revendeur.example"),
        ]
    };
    let camille = || {
        [
            T("Camille"),
            T("Durand"),
            T("camille.durand@aerocomp.example"),
        ]
    };
    let rows = vec![
        lead101(
            "3DEXPERIENCE_Design/Engineering_On_Premise",
            N(45000.0, "45.000"),
            "Perpétuelle",
            E,
            E,
            camille(),
        ),
        vec![
            T("OPP-FR-102"),
            T("Simulation structurelle"),
            T("Lead"),
            D("2026-12-31", "31/12/2026"),
            T("EUR"),
            T("Bureau d'Études Nantais"),
            T("44000"),
            T("Nantes"),
            T("France"),
            T("SIMULIA_Abaqus_Token"),
            N(18000.0, "18.000"),
            T("Annuelle"),
            D("2027-01-01", "01/01/2027"),
            D("2027-12-31", "31/12/2027"),
            T("Léa"),
            T("Petit"),
            T("lea.petit@ben.example"),
            E,
            E,
            E,
            E,
            E,
            E,
        ],
        lead101(
            "SIMULIA_Abaqus_Token",
            N(12500.5, "12.500,50"),
            "Trimestrielle",
            D("2026-10-01", "01/10/2026"),
            D("2027-09-30", "30/09/2027"),
            camille(),
        ),
        vec![
            T("OPP-FR-103"),
            T("Jumeau numérique usine"),
            T("Validée"),
            D("2027-03-15", "15/03/2027"),
            T("EUR"),
            T("Usinage Rhône SA"),
            T("69007"),
            T("Lyon"),
            T("France"),
            T("DELMIA_Apriso_Cloud"),
            N(60000.0, "60.000"),
            T("Perpétuelle"),
            E,
            E,
            T("Marc"),
            T("Bernard"),
            T("marc.bernard@usr.example"),
            E,
            E,
            E,
            E,
            E,
            E,
        ],
        lead101(
            "MDMIND00022_PUBL_ISE00002687_IPE00021337",
            N(3000.0, "3.000"),
            "Perpétuelle",
            E,
            E,
            [T("Julien"), T("Roux"), T("julien.roux@aerocomp.example")],
        ),
        // Wrong: a second row of OPP-FR-103 says the opportunity is won; its rows disagree.
        vec![
            T("OPP-FR-103"),
            T("Jumeau numérique usine"),
            T("Gagnée"),
            D("2027-03-15", "15/03/2027"),
            T("EUR"),
            T("Usinage Rhône SA"),
            T("69007"),
            T("Lyon"),
            T("France"),
            T("CATIA_Design_Term"),
            N(8000.0, "8.000"),
            T("Annuelle"),
            E,
            E,
            E,
            E,
            E,
            E,
            E,
            E,
            E,
            E,
            E,
        ],
        // Wrong: a perpetual licence takes no start date.
        vec![
            T("OPP-FR-104"),
            T("PLM pour PME"),
            T("Opportunité"),
            D("2026-11-30", "30/11/2026"),
            T("EUR"),
            T("Mécanique Alsacienne SARL"),
            T("67000"),
            T("Strasbourg"),
            T("France"),
            T("SOLIDWORKS_Premium_Term"),
            N(6400.0, "6.400"),
            T("Perpétuelle"),
            D("2026-12-01", "01/12/2026"),
            E,
            T("Chloé"),
            T("Meyer"),
            T("chloe.meyer@mecalsace.example"),
            E,
            E,
            E,
            E,
            E,
            E,
        ],
        // Wrong: "Timing" is neither mapped nor a 3DS reason.
        vec![
            T("OPP-FR-105"),
            T("Extension CATIA"),
            T("Perdue"),
            D("2026-05-31", "31/05/2026"),
            T("EUR"),
            T("Ateliers de Bretagne"),
            T("29200"),
            T("Brest"),
            T("France"),
            T("CATIA_Design_Term"),
            N(4200.0, "4.200"),
            T("Annuelle"),
            E,
            E,
            T("Yann"),
            T("Le Gall"),
            T("yann.legall@adb.example"),
            E,
            E,
            T("Budget;Timing"),
            E,
            E,
            E,
        ],
        vec![
            T("OPP-FR-102"),
            T("Simulation structurelle"),
            T("Lead"),
            D("2026-12-31", "31/12/2026"),
            T("EUR"),
            T("Bureau d'Études Nantais"),
            T("44000"),
            T("Nantes"),
            T("France"),
            T("CATIA_Design_Term"),
            N(7500.0, "7.500"),
            T("Perpétuelle"),
            E,
            E,
            E,
            E,
            E,
            E,
            E,
            E,
            E,
            E,
            E,
        ],
    ];
    write("grouped-rows", &headers, &rows);
}

fn update_status(ids: &std::collections::HashMap<String, String>) {
    let headers = [
        "3DS ID",
        "CRM ID",
        "New Stage",
        "Forecast",
        "Next Step",
        "Next Step Date",
        "Close Date",
        "Comment",
    ];
    let id = |crm: &str| S(ids[crm].clone());
    let rows = vec![
        vec![
            id("SBX-000001"),
            T("SBX-000001"),
            T("Qualified"),
            E,
            T("Customer Demo"),
            D("2026-12-01", "2026-12-01"),
            E,
            E,
        ],
        vec![
            id("SBX-000002"),
            T("SBX-000002"),
            T("Open"),
            T("Commit"),
            T("Proposal"),
            D("2026-12-15", "15.12.2026"),
            D("2027-03-31", "31.03.2027"),
            E,
        ],
        vec![
            id("SBX-000003"),
            T("SBX-000003"),
            T("Won"),
            E,
            E,
            E,
            E,
            T("Signed after the benchmark"),
        ],
        // Wrong: no 3DS id, so there is nothing to update.
        vec![
            E,
            T("SBX-000004"),
            T("Qualified"),
            E,
            T("Call back"),
            E,
            E,
            E,
        ],
        // Wrong: an open opportunity cannot be forecast as WON.
        vec![
            id("SBX-000005"),
            T("SBX-000005"),
            T("Open"),
            T("Won"),
            E,
            E,
            E,
            E,
        ],
        // Wrong: 3DS needs the partner's id on every update.
        vec![
            id("SBX-000007"),
            E,
            T("Lost"),
            E,
            E,
            E,
            E,
            T("Budget frozen"),
        ],
        vec![
            id("SBX-000008"),
            T("SBX-000008"),
            E,
            E,
            T("Follow-up call"),
            T("05.01.2027"),
            E,
            E,
        ],
    ];
    write("update-status", &headers, &rows);
}

#[tokio::main]
async fn main() {
    create_one_row();
    grouped_rows();
    let config = leadsheet::SandboxConfig {
        preload: 12,
        seed: 1,
        ..Default::default()
    };
    let sandbox = leadsheet::start_sandbox(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let ids = sandbox
        .records()
        .into_iter()
        .filter_map(|r| r.partner_lead_id.map(|p| (p, r.ds_id)))
        .collect();
    update_status(&ids);
    sandbox.shutdown().await;
}
