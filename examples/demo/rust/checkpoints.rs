// A DashFlow node and checkpoint helper with the patterns of DashFlow's performance guide.
use std::thread;
use std::time::Duration;

pub struct Step {
    pub name: String,
}

pub async fn throttled_node(steps: &[Step]) -> Vec<String> {
    thread::sleep(Duration::from_millis(100));
    let mut names = Vec::new();
    for step in steps {
        names.push(step.name.clone());
    }
    names
}

pub fn save_checkpoint(names: &[String]) -> String {
    serde_json::to_string_pretty(names).unwrap_or_default()
}
