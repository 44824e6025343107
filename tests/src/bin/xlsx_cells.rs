//! `xlsx_cells FILE.xlsx`: every sheet of a workbook as JSON, `{ "sheet": [[cell, …], …] }`,
//! each cell as calamine reads it, in text. The browser test opens the workbook the console
//! let it download with this, as a marketer's spreadsheet program would.

use std::process::ExitCode;

use calamine::{Reader, Xlsx, open_workbook};
use serde_json::{Map, Value};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: xlsx_cells FILE.xlsx");
        return ExitCode::from(2);
    };
    match cells(&path) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xlsx_cells: {path}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn cells(path: &str) -> Result<Value, calamine::XlsxError> {
    let mut wb: Xlsx<_> = open_workbook(path)?;
    let mut sheets = Map::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name)?;
        let rows: Vec<Value> = range
            .rows()
            .map(|r| Value::Array(r.iter().map(|c| Value::String(c.to_string())).collect()))
            .collect();
        sheets.insert(name, Value::Array(rows));
    }
    Ok(Value::Object(sheets))
}
