/* The report pages' filters, inlined into each page at render time. The run report has outcome
   checkboxes (input[data-filter-outcome]), the matrix an "only rows that differ" box; both a
   text filter (#q). Filtering only hides rows (adds a class): the DOM keeps every row, so
   counting tr.case in a dumped DOM is the same with or without JS. */
(function(){
  var boxes=document.querySelectorAll('input[data-filter-outcome]');
  var only=document.getElementById('only-differs');
  var q=document.getElementById('q');
  function apply(){
    var on={};boxes.forEach(function(b){on[b.getAttribute('data-filter-outcome')]=b.checked;});
    var text=(q.value||'').toLowerCase();
    document.querySelectorAll('#cases tr.case').forEach(function(tr){
      var show=on[tr.getAttribute('data-outcome')]!==false &&
        (!only||!only.checked||tr.getAttribute('data-differs')==='true') &&
        (!text||tr.textContent.toLowerCase().indexOf(text)>=0);
      tr.classList.toggle('hidden',!show);
    });
  }
  boxes.forEach(function(b){b.addEventListener('change',apply);});
  if(only){only.addEventListener('change',apply);}
  q.addEventListener('input',apply);
})();
