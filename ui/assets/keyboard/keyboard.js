// The Steer page's on-screen keyboard: each press sends one melody token ("E4/1", "R/0.5") or an edit
// ("BACK", "CLEAR") to Python as the trigger value `press`; Python edits the melody text (ui/keyboard.py).
// The octave and note length live here, in the browser; nothing is loaded from the network.
const NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
const LENGTHS = [[0.25, "¼"], [0.5, "½"], [1, "1"], [1.5, "1½"], [2, "2"], [3, "3"], [4, "4"]];
const LOWEST = 1, HIGHEST = 7;  // the lower of the two octaves shown: C1..C7 (keys up to C9)
let audio = null;

function sound(pitch, beats) {
  // A short triangle-wave tone (Web Audio), so the visitor hears what they entered; silent if unsupported.
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const now = audio.currentTime, length = Math.min(0.25 + 0.25 * beats, 1.2);
    const tone = audio.createOscillator(), gain = audio.createGain();
    tone.type = "triangle";
    tone.frequency.value = 440 * Math.pow(2, (pitch - 69) / 12);
    gain.gain.setValueAtTime(0.2, now);
    gain.gain.exponentialRampToValueAtTime(0.001, now + length);
    tone.connect(gain).connect(audio.destination);
    tone.start(now);
    tone.stop(now + length);
  } catch (error) { /* no audio in this browser: the keyboard still enters notes */ }
}

export default function ({ parentElement, setTriggerValue }) {
  const board = parentElement.querySelector(".keyboard");
  const state = board.dataset;  // kept on the element: this function runs again on every app rerun
  state.octave = state.octave || "4";
  state.length = state.length || "1";

  const lengths = board.querySelector(".lengths");
  if (!lengths.querySelector("button")) {
    for (const [beats, label] of LENGTHS) {
      const choice = document.createElement("button");
      choice.type = "button";
      choice.textContent = label;
      choice.dataset.beats = String(beats);
      choice.setAttribute("role", "radio");
      choice.setAttribute("aria-label", `${beats} beats`);
      choice.title = `${beats} beat${beats === 1 ? "" : "s"}`;
      lengths.appendChild(choice);
    }
  }
  const drawLengths = () => lengths.querySelectorAll("button").forEach((choice) =>
    choice.setAttribute("aria-checked", String(choice.dataset.beats === state.length)));
  lengths.querySelectorAll("button").forEach((choice) => {
    choice.onclick = () => { state.length = choice.dataset.beats; drawLengths(); };
  });

  const keys = board.querySelector(".keys");
  const drawKeys = () => {
    const octave = Number(state.octave);
    board.querySelector(".range").textContent = `C${octave}–C${octave + 2}`;
    keys.replaceChildren();
    const whites = 15, width = 100 / whites;  // two octaves and the top C, in % of the width
    let white = 0;
    for (let step = 0; step <= 24; step++) {
      const pitch = 12 * (octave + 1) + step, name = NAMES[step % 12] + (octave + Math.floor(step / 12));
      const key = document.createElement("button");
      key.type = "button";
      key.setAttribute("aria-label", name);
      key.title = name;
      if (name.includes("#")) {
        key.className = "black";
        key.style.left = `${white * width - width * 0.3}%`;
        key.style.width = `${width * 0.6}%`;
      } else {
        key.className = "white";
        key.style.left = `${white * width}%`;
        key.style.width = `${width}%`;
        key.textContent = step % 12 === 0 ? name : "";
        white++;
      }
      key.onclick = () => {
        sound(pitch, Number(state.length));
        key.classList.add("down");
        setTimeout(() => key.classList.remove("down"), 150);
        setTriggerValue("press", `${name}/${state.length}`);
      };
      keys.appendChild(key);
    }
  };
  board.querySelectorAll(".octave").forEach((shift) => {
    shift.onclick = () => {
      state.octave = String(Math.min(HIGHEST, Math.max(LOWEST, Number(state.octave) + Number(shift.dataset.shift))));
      drawKeys();
    };
  });
  board.querySelectorAll(".edit").forEach((edit) => {
    const token = edit.dataset.token;
    edit.onclick = () => setTriggerValue("press", token === "R" ? `R/${state.length}` : token);
  });
  drawLengths();
  drawKeys();
}
