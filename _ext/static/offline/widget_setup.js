// Set-up for the vendored ipywidgets HTML manager; loaded after require.js
// and before the manager on every page that holds widgets.
(function () {
  // The manager finds its fonts relative to its own module address, which
  // require.js would otherwise place next to the page, not in _static.
  var self = document.currentScript.src;
  var vendor = self.slice(0, self.lastIndexOf("/")) + "/../vendor/";
  require.config({
    paths: {
      "@jupyter-widgets/html-manager/dist": vendor + "html-manager-1.0.15"
    }
  });

  // Widget labels are typeset with the MathJax 2 call MathJax.Hub.Queue;
  // the book loads MathJax 3. Route that call to MathJax 3 once it is up
  // (it is deferred, so it is there before the widgets render on "load").
  document.addEventListener("DOMContentLoaded", function () {
    var mj = window.MathJax;
    if (!mj || !mj.version || mj.Hub || !mj.typesetPromise) {
      return;
    }
    mj.Hub = {
      Queue: function () {
        var elements = [];
        for (var i = 0; i < arguments.length; i++) {
          var job = arguments[i];
          if (Array.isArray(job) && job[0] === "Typeset" && job[2]) {
            elements.push(job[2]);
          }
        }
        if (elements.length) {
          mj.typesetPromise(elements);
        }
      }
    };
  });
})();
